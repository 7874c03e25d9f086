"""
Two test hosts on this machine: network namespaces joined by one veth pair, and Fast DDS kept on that link.

Run as `python netns.py receive TOPIC GRAPH_TOPIC` it is the receiving host's listener: one line per
Classifications message (`result <sec>.<nanosec> <top class>`) and one whenever the number of publishers of
GRAPH_TOPIC known to this host changes (`publishers <n>`).
Run as `python netns.py count-images TOPIC FRAMES` it takes the Image messages a best_effort and a reliable
subscription receive until the reliable one has FRAMES, and prints the stamps (ns) each received as JSON:
`{"best_effort": [...], "reliable": [...]}`.
"""
import json
import os
import random
import secrets
import subprocess
import sys
import time

LINK_SIDES = ('a', 'b')
LEASE_S = 15  # participant lease duration in the hosts' profiles
LEASE_ANNOUNCEMENT_S = 1  # and how often each participant announces itself


def ip(*args, check=True):
    return subprocess.run(['ip', *args], check=check, capture_output=True, text=True)


class LoopbackHost:
    """A network namespace with only `lo`: whatever runs in it can reach nothing but itself."""

    def __init__(self):
        self.ns = f'vc{os.getpid() % 100000}{secrets.token_hex(2)}lo'
        self.created = False

    def create(self):
        ip('netns', 'add', self.ns)
        self.created = True
        ip('-n', self.ns, 'link', 'set', 'lo', 'up')

    def delete(self):
        if self.created:
            ip('netns', 'delete', self.ns, check=False)
            self.created = False

    def exec_args(self, *command):
        return ['ip', 'netns', 'exec', self.ns, *command]


class TwoHosts:
    """
    Namespaces a and b, each with `lo` and one end of a veth pair (named like its namespace) and no other route.

    Nothing sent in them can reach anything but the other namespace.
    """

    def __init__(self):
        token = f'vc{os.getpid() % 100000}{secrets.token_hex(2)}'
        self.ns = {side: token + side for side in LINK_SIDES}
        rng = random.SystemRandom()
        third, base = rng.randrange(256), 4 * rng.randrange(64)  # a /30 in 10.231.0.0/16
        self.addr = {'a': f'10.231.{third}.{base + 1}', 'b': f'10.231.{third}.{base + 2}'}
        self.created = []

    def create(self):
        """Make the namespaces and the link; raise subprocess.CalledProcessError (or OSError) when a step fails."""
        for side in LINK_SIDES:
            ip('netns', 'add', self.ns[side])
            self.created.append(self.ns[side])
        a, b = self.ns['a'], self.ns['b']
        ip('link', 'add', a, 'netns', a, 'type', 'veth', 'peer', 'name', b, 'netns', b)
        for side in LINK_SIDES:
            # No IPv6 on the link: it would add the kernel's own multicast (neighbour discovery, MLD).
            subprocess.run(self.exec_args(side, 'sysctl', '-q', '-e', '-w', 'net.ipv6.conf.all.disable_ipv6=1',
                                          'net.ipv6.conf.default.disable_ipv6=1'), check=True)
            ip('-n', self.ns[side], 'addr', 'add', f'{self.addr[side]}/30', 'dev', self.ns[side])
            ip('-n', self.ns[side], 'link', 'set', 'lo', 'up')
            ip('-n', self.ns[side], 'link', 'set', self.ns[side], 'up')
        # Fast DDS lists the RUNNING interfaces once, when it loads; a veth turns RUNNING (operstate up) some
        # 50 ms after `link set up`.
        for side in LINK_SIDES:
            if not self.wait_running(side, 5):
                raise subprocess.CalledProcessError(1, f'{self.ns[side]}: veth not running after 5 s')

    def wait_running(self, side, timeout):
        """Whether the veth of `side` is running within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_running(side):
                return True
            time.sleep(0.02)
        return self.is_running(side)

    def is_running(self, side):
        return 'state UP' in ip('-n', self.ns[side], '-o', 'link', 'show', 'dev', self.ns[side]).stdout

    def delete(self):
        while self.created:
            ip('netns', 'delete', self.created.pop(), check=False)

    def peer(self, side):
        return 'b' if side == 'a' else 'a'

    def exec_args(self, side, *command):
        return ['ip', 'netns', 'exec', self.ns[side], *command]

    def set_link(self, side, up):
        ip('-n', self.ns[side], 'link', 'set', self.ns[side], 'up' if up else 'down')

    def multicast_packets(self, side):
        """IPv4 multicast packets (in, out) this namespace has seen since it was made (IGMP reports included)."""
        lines = subprocess.run(self.exec_args(side, 'cat', '/proc/net/netstat'), check=True, capture_output=True,
                               text=True).stdout.splitlines()
        names, values = [line.split() for line in lines if line.startswith('IpExt:')]
        counters = dict(zip(names[1:], map(int, values[1:])))
        return counters['InMcastPkts'], counters['OutMcastPkts']

    def fastdds_profile(self, side):
        """
        Return the Fast DDS profile of this host.

        UDPv4 only (no shared memory), discovery unicast to the two link addresses only, no multicast locators,
        and this host's link address as the one address announced for data (left to itself, Fast DDS announces
        127.0.0.1 when it found no RUNNING interface as it loaded). The participant lease is LEASE_S (Fast DDS's
        default is 20 s), announced every LEASE_ANNOUNCEMENT_S, so that a lost host is dropped sooner. Needs
        ROS_AUTOMATIC_DISCOVERY_RANGE=SYSTEM_DEFAULT: LOCALHOST would add shared memory, SUBNET the multicast
        peer 239.255.0.1, and OFF allows no remote participant.
        """
        own, peer = self.addr[side], self.addr[self.peer(side)]
        locator = '<locator><udpv4><address>{}</address></udpv4></locator>'.format
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<dds xmlns="http://www.eprosima.com">
  <profiles>
    <transport_descriptors>
      <transport_descriptor><transport_id>udp</transport_id><type>UDPv4</type></transport_descriptor>
    </transport_descriptors>
    <participant profile_name="{self.ns[side]}" is_default_profile="true">
      <rtps>
        <userTransports><transport_id>udp</transport_id></userTransports>
        <useBuiltinTransports>false</useBuiltinTransports>
        <defaultUnicastLocatorList>{locator(own)}</defaultUnicastLocatorList>
        <builtin>
          <discovery_config>
            <leaseDuration><sec>{LEASE_S}</sec></leaseDuration>
            <leaseAnnouncement><sec>{LEASE_ANNOUNCEMENT_S}</sec></leaseAnnouncement>
          </discovery_config>
          <metatrafficUnicastLocatorList>{locator(own)}</metatrafficUnicastLocatorList>
          <initialPeersList>{locator(peer)}{locator(own)}</initialPeersList>
        </builtin>
      </rtps>
    </participant>
  </profiles>
</dds>
"""


def receive(topic, graph_topic):
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from vision_classifier_msgs.msg import Classifications

    rclpy.init()
    node = rclpy.create_node('two_hosts_receiver')

    def on_result(msg):
        top = msg.classifications[0].class_name if msg.classifications else ''
        print(f'result {msg.header.stamp.sec}.{msg.header.stamp.nanosec:09d} {top}', flush=True)

    publishers = [None]

    def on_timer():
        count = node.count_publishers(graph_topic)
        if count != publishers[0]:
            publishers[0] = count
            print(f'publishers {count}', flush=True)

    node.create_subscription(Classifications, topic, on_result, 10)
    node.create_timer(0.1, on_timer)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass


def count_images(topic, frames):
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    rclpy.init()
    node = rclpy.create_node('image_counter')
    stamps = {'best_effort': [], 'reliable': []}
    for name, reliability in (('best_effort', ReliabilityPolicy.BEST_EFFORT), ('reliable', ReliabilityPolicy.RELIABLE)):
        node.create_subscription(Image, topic, lambda msg, got=stamps[name]: got.append(
            msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec), QoSProfile(depth=10, reliability=reliability))
    try:
        while rclpy.ok() and len(stamps['reliable']) < int(frames):
            rclpy.spin_once(node, timeout_sec=0.1)
        print(json.dumps(stamps), flush=True)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    if sys.argv[1:2] == ['receive'] and len(sys.argv) == 4:
        receive(*sys.argv[2:])
    elif sys.argv[1:2] == ['count-images'] and len(sys.argv) == 4:
        count_images(*sys.argv[2:])
    else:
        sys.exit(f'usage: {sys.argv[0]} receive TOPIC GRAPH_TOPIC | count-images TOPIC FRAMES')
