# Source after scripts/setup: the environment of $ROS_DISTRO (jazzy when unset, or kilted; the nearest of them for a
# distro without wheels: scripts/distro.sh): its venv, the ROS wheels and our colcon install, the bundled packages
# dir. DDS discovery stays on this machine unless ROS_AUTOMATIC_DISCOVERY_RANGE is already set.
_vc_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$_vc_root/scripts/distro.sh"
if ! vc_choose_env scripts/env.sh; then
  unset _vc_root vc_env
  unset -f vc_choose_env _vc_drop_sourced_ros
  return 2
fi
_vc_env="$vc_env"
unset vc_env
unset -f vc_choose_env _vc_drop_sourced_ros
if [ ! -f "$_vc_root/.envs/$_vc_env/install/setup.bash" ]; then
  echo "scripts/env.sh: no environment for ROS_DISTRO=$_vc_env: run ROS_DISTRO=$_vc_env scripts/setup" >&2
  unset _vc_root _vc_env
  return 1
fi
_vc_nounset="$(set +o | grep nounset)"
set +u  # colcon's setup scripts read unset variables
. "$_vc_root/.envs/$_vc_env/venv/bin/activate"
export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
. "$_vc_root/.envs/$_vc_env/install/setup.bash"
eval "$_vc_nounset"
export ROS_DISTRO="$_vc_env"
export PATH="$_vc_root/.envs/$_vc_env/install/vision_classifier/lib/vision_classifier:$PATH"  # vision_classifier, *_node
export VISION_CLASSIFIER_PACKAGES_DIR="${VISION_CLASSIFIER_PACKAGES_DIR:-$_vc_root/.cache/packages}"
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
unset _vc_root _vc_env _vc_nounset
