"""Run a Viam robot config (JSON) as ROS 2 nodes.

`ros2 launch vision_classifier classifier.launch.py config:=robot.json`

A wrong config fails before any node starts, with one line per problem naming its place in the JSON.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from vision_classifier.config import ConfigError, load, translate


def nodes_from_config(context):
    path = LaunchConfiguration('config').perform(context)
    packages_dir = LaunchConfiguration('packages_dir').perform(context) or None
    profile = LaunchConfiguration('fastdds_profile').perform(context)
    try:
        plan = translate(load(path), packages_dir)
    except ConfigError as e:
        raise RuntimeError(f'{path}: {len(e.problems)} problem(s):\n' + '\n'.join(e.problems)) from None
    actions = [LogInfo(msg=f'{path}: {warning}') for warning in plan.warnings]
    env = {'FASTDDS_DEFAULT_PROFILES_FILE': profile} if profile else None
    for spec in plan.nodes:
        actions.append(Node(package='vision_classifier', executable=spec.executable, name=spec.name,
                            parameters=[spec.parameters], remappings=list(spec.remappings), output='screen',
                            emulate_tty=True, additional_env=env))
    web = LaunchConfiguration('web').perform(context)
    if web:
        from vision_classifier.web import parse_address
        from vision_classifier.web_node import web_parameters
        actions.append(Node(package='vision_classifier', executable='web_node', name='web',
                            parameters=[web_parameters(plan, *parse_address(web))], output='screen',
                            emulate_tty=True, additional_env=env))
    return actions


def generate_launch_description():
    share = get_package_share_directory('vision_classifier')
    default_config = os.path.join(share, 'config', 'default.json')
    default_profile = os.environ.get('FASTDDS_DEFAULT_PROFILES_FILE',
                                     os.path.join(share, 'config', 'fastdds_large_images.xml'))
    return LaunchDescription([
        DeclareLaunchArgument('config', default_value=default_config,
                              description='Viam robot config (JSON) with cameras, mlmodel and vision services'),
        DeclareLaunchArgument('packages_dir', default_value='',
                              description='Folder where ${packages.<name>} resolves; empty: '
                                          '$VISION_CLASSIFIER_PACKAGES_DIR, ~/.viam/packages, then ament shares'),
        DeclareLaunchArgument('fastdds_profile', default_value=default_profile,
                              description='Fast DDS XML profile of our nodes (a shared-memory segment large enough '
                                          'for camera frames); empty: Fast DDS defaults'),
        DeclareLaunchArgument('web', default_value='',
                              description='[HOST:]PORT of the live control page (HOST default 127.0.0.1); '
                                          'empty: no page'),
        OpaqueFunction(function=nodes_from_config),
    ])
