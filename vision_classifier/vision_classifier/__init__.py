"""Image classification with TensorFlow Lite models, as ROS 2 nodes configured like Viam."""
