"""How the control page starts: its QoS choice as every other node's, a bad one named, a busy port blamed right."""
import socket

from support import DEFAULT_CONFIG, PACKAGES_DIR

NODE = 'vision_classifier.web.node'


def test_web_node_takes_auto_reliability_and_names_a_typo(start_node):
    auto = start_node(NODE, '-r', '__node:=auto_web', '-p', 'port:=0', '-p', 'qos_reliability:=auto',
                      '-p', 'image_topics:=[/cam/image_raw]', name='auto')
    assert auto.wait_for_log('control page on http://127.0.0.1:', 120), auto.log()
    typo = start_node(NODE, '-r', '__node:=typo_web', '-p', 'port:=0', '-p', 'qos_reliability:=sometimes',
                      name='typo')
    assert typo.proc.wait(120) == 1, typo.log()
    assert ('[typo_web] cannot start: qos_reliability: expected one of auto, reliable, best_effort, got '
            "'sometimes'") in typo.log() and 'Traceback' not in typo.log(), typo.log()


def test_run_with_the_page_on_a_busy_port_names_the_page(start_node):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = start_node('vision_classifier', name='run', args=['run', str(DEFAULT_CONFIG), '--packages-dir',
                                                                str(PACKAGES_DIR), '--web', f'127.0.0.1:{port}'])
        assert run.proc.wait(120) == 1, run.log()
    assert f'[web] cannot start: cannot serve on 127.0.0.1:{port}' in run.log(), run.log()
    assert 'vision_classifier_watcher' not in run.log() and 'Traceback' not in run.log(), run.log()
