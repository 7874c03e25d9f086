"""Which variable points each distro's Fast DDS at a profile (test_fastdds_profile.py shows it in effect)."""
from vision_classifier.core.fastdds import profile_env, profile_variables


def test_each_distro_gets_the_variable_its_fast_dds_reads():
    assert profile_variables('jazzy') == profile_variables('humble') == ('FASTRTPS_DEFAULT_PROFILES_FILE',)
    assert profile_variables('kilted') == profile_variables('Lyrical') == ('FASTDDS_DEFAULT_PROFILES_FILE',)
    assert profile_variables('') == ('FASTRTPS_DEFAULT_PROFILES_FILE', 'FASTDDS_DEFAULT_PROFILES_FILE')
    assert profile_env('/p.xml', 'jazzy') == {'FASTRTPS_DEFAULT_PROFILES_FILE': '/p.xml'}


def test_the_distro_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv('ROS_DISTRO', 'kilted')
    assert profile_env('/p.xml') == {'FASTDDS_DEFAULT_PROFILES_FILE': '/p.xml'}
    monkeypatch.delenv('ROS_DISTRO')
    assert len(profile_env('/p.xml')) == 2
