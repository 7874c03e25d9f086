from glob import glob

from setuptools import find_packages, setup

package_name = 'vision_classifier'

setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    package_data={'vision_classifier': ['py.typed'], 'vision_classifier.web': ['page.html'],
                  'vision_classifier.tools': ['interfaces/*/msg/*.msg']},
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
        ('share/' + package_name + '/launch', glob('launch/*.launch.py')),
        ('share/' + package_name + '/config', glob('config/*')),
    ],
    install_requires=['setuptools'],
    zip_safe=False,
    maintainer='vision_classifier developers',
    maintainer_email='dev@vision-classifier.invalid',
    description='Image classification with TensorFlow Lite models on the CPU, configured by Viam JSON.',
    license='Apache-2.0',
    entry_points={
        'console_scripts': [
            'classifier_node = vision_classifier.nodes.classifier_node:main',
            'overlay_node = vision_classifier.nodes.overlay_node:main',
            'camera_node = vision_classifier.nodes.camera_node:main',
            'web_node = vision_classifier.web.node:main',
            'vision_classifier = vision_classifier.cli:main',
        ],
    },
)
