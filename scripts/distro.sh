# Sourced by scripts/demo, scripts/test and scripts/env.sh: `vc_choose_env NAME` sets vc_env, the project's
# environment for $ROS_DISTRO, and exports ROS_DISTRO=$vc_env (core/fastdds.py picks Fast DDS's variable by it).
# - unset: jazzy; jazzy, kilted: themselves;
# - a distro without ROS 2 wheels on PyPI: the nearest environment (humble, iron: jazzy, with Fast DDS 2 and
#   numpy 1; lyrical, rolling: kilted), said in one line on stderr, NAME first. The paths of a ROS install sourced
#   for it (under AMENT_PREFIX_PATH and COLCON_PREFIX_PATH) leave the environment: its Python modules and libraries
#   are of another distro and another Python;
# - anything else: an error naming the choices, status 2.
vc_choose_env() {
  local distro="${ROS_DISTRO:-jazzy}"
  case "$distro" in
    jazzy | kilted) vc_env="$distro" ;;
    humble | iron) vc_env=jazzy ;;
    lyrical | rolling) vc_env=kilted ;;
    *) echo "$1: ROS_DISTRO=$distro: no environment for it here; jazzy or kilted (humble and iron run on jazzy," \
            "lyrical and rolling on kilted)" >&2
       return 2 ;;
  esac
  if [ "$vc_env" != "$distro" ]; then
    local note=''
    _vc_drop_sourced_ros && note=' (without the ROS install sourced for it)'
    echo "$1: no ROS 2 $distro wheels on PyPI; running on the nearest environment, $vc_env$note" >&2
  fi
  export ROS_DISTRO="$vc_env"
}

# Remove from the search paths every entry under a prefix of AMENT_PREFIX_PATH or COLCON_PREFIX_PATH (/, /usr
# and /usr/local excepted); status 1 when there is none.
_vc_drop_sourced_ros() {
  local prefixes=() entries=() kept=() var entry prefix
  IFS=: read -ra entries <<< "${AMENT_PREFIX_PATH:-}:${COLCON_PREFIX_PATH:-}"
  for prefix in "${entries[@]}"; do
    case "${prefix%/}" in '' | /usr | /usr/local) ;; *) prefixes+=("${prefix%/}") ;; esac
  done
  [ ${#prefixes[@]} -gt 0 ] || return 1
  for var in AMENT_PREFIX_PATH COLCON_PREFIX_PATH CMAKE_PREFIX_PATH PYTHONPATH LD_LIBRARY_PATH PKG_CONFIG_PATH PATH; do
    IFS=: read -ra entries <<< "${!var:-}"
    kept=()
    for entry in "${entries[@]}"; do
      for prefix in "${prefixes[@]}"; do
        [[ "$entry" == "$prefix" || "$entry" == "$prefix"/* ]] && continue 2
      done
      kept+=("$entry")
    done
    if [ ${#kept[@]} -gt 0 ]; then
      export "$var=$(IFS=:; echo "${kept[*]}")"
    else
      unset "$var"
    fi
  done
}
