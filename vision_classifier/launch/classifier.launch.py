"""
Run a Viam robot config (JSON) as ROS 2 nodes.

`ros2 launch vision_classifier classifier.launch.py config:=robot.json`

A wrong config, or a model or labels file that cannot be used, fails before any node starts, with one line per
problem naming its place in the JSON.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.logging import get_logger
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from vision_classifier.core.config import ConfigError, translate_file
from vision_classifier.core.fastdds import large_images_profile, profile_env, profile_in
from vision_classifier.core.parameters import QOS_CHOICES

NO_PROFILE = ('', 'none')  # fastdds_profile:=none (bash cannot pass an empty value): Fast DDS defaults
TRUE = ('true', '1', 'yes')


def autostart(context):
    """
    Return whether the nodes configure and activate themselves.

    Yes unless managed:=true, where they wait unconfigured for a lifecycle manager; autostart:=true|false decides
    either way.
    """
    chosen = LaunchConfiguration('autostart').perform(context).strip().lower()
    if chosen:
        return chosen in TRUE
    return LaunchConfiguration('managed').perform(context).strip().lower() not in TRUE


def nodes_from_config(context):
    path = LaunchConfiguration('config').perform(context)
    packages_dir = LaunchConfiguration('packages_dir').perform(context) or None
    profile = LaunchConfiguration('fastdds_profile').perform(context)
    qos_reliability = LaunchConfiguration('qos_reliability').perform(context)
    logger = get_logger('vision_classifier')
    try:
        plan = translate_file(path, packages_dir, qos_reliability, check_models=True)
    except ConfigError as e:
        for warning in e.warnings:
            logger.warning(f'{path}: {warning}')
        raise RuntimeError(f'{path}: {len(e.problems)} problem(s):\n' + '\n'.join(e.problems)) from None
    for warning in plan.warnings:
        logger.warning(f'{path}: {warning}')
    env = None if profile.strip().lower() in NO_PROFILE else profile_env(profile)
    lifecycle = {'autostart': autostart(context)}
    actions = [Node(package='vision_classifier', executable=spec.executable, name=spec.name, exec_name=spec.name,
                    parameters=[spec.parameters, lifecycle], remappings=list(spec.remappings), output='screen',
                    emulate_tty=True, additional_env=env)
               for spec in plan.nodes]
    web = LaunchConfiguration('web').perform(context)
    if web:
        from vision_classifier.web.server import parse_address
        from vision_classifier.web.node import web_parameters
        actions.append(Node(package='vision_classifier', executable='web_node', name='web',
                            parameters=[web_parameters(plan, *parse_address(web)), lifecycle], output='screen',
                            emulate_tty=True, additional_env=env))
    return actions


def generate_launch_description():
    share = get_package_share_directory('vision_classifier')
    default_config = os.path.join(share, 'config', 'default.json')
    default_profile = profile_in(os.environ) or large_images_profile()
    return LaunchDescription([
        DeclareLaunchArgument('config', default_value=default_config,
                              description='Viam robot config (JSON) with cameras, mlmodel and vision services; '
                                          'relative paths in it resolve against its folder'),
        DeclareLaunchArgument('packages_dir', default_value='',
                              description='Folder where ${packages.<name>} resolves; empty: '
                                          '$VISION_CLASSIFIER_PACKAGES_DIR, ~/.viam/packages, then ament shares'),
        DeclareLaunchArgument('fastdds_profile', default_value=default_profile,
                              description='Fast DDS XML profile of our nodes (a shared-memory segment large enough '
                                          'for camera frames); none: Fast DDS defaults'),
        DeclareLaunchArgument('qos_reliability', default_value='auto', choices=list(QOS_CHOICES),
                              description='Reliability of the image subscriptions where the config does not set '
                                          'it: auto (as the publishers on the topic), reliable or best_effort'),
        DeclareLaunchArgument('web', default_value='',
                              description='[HOST:]PORT of the live control page (HOST default 127.0.0.1); '
                                          'empty: no page'),
        DeclareLaunchArgument('managed', default_value='false', choices=['true', 'false'],
                              description='true: the nodes start unconfigured and wait for a lifecycle manager '
                                          '(nav2_lifecycle_manager, ros2 lifecycle set)'),
        DeclareLaunchArgument('autostart', default_value='', choices=['', 'true', 'false'],
                              description='Whether the nodes configure and activate themselves; empty: unless '
                                          'managed:=true'),
        OpaqueFunction(function=nodes_from_config),
    ])
