"""
Live reconfiguration: what changes between two translated configs (Plans), node by node.

A node whose parameters that can change at run time differ gets them set; a node whose other parameters,
remappings or executable differ is replaced (restarted); nodes only in one plan are added or removed; equal nodes
are left alone.
"""
from dataclasses import dataclass, field

from vision_classifier.core.config import model_problems
from vision_classifier.core.parameters import MODEL_PARAMETERS, run_time_defaults

# Parameters each node accepts while it runs, with the value a parameter the config drops returns to (its default)
DYNAMIC = {executable: run_time_defaults(executable)
           for executable in ('classifier_node', 'overlay_node', 'camera_node')}


@dataclass
class Changes:
    parameters: dict = field(default_factory=dict)  # node name -> {parameter: new value}
    add: list = field(default_factory=list)         # NodeSpecs of new nodes
    remove: list = field(default_factory=list)      # names of nodes no longer in the config
    replace: list = field(default_factory=list)     # NodeSpecs of nodes to restart with their new spec
    lines: list = field(default_factory=list)       # (node name, line) per change, for the log

    def __bool__(self):
        return bool(self.parameters or self.add or self.remove or self.replace)

    def lines_of(self, name):
        return [line for node, line in self.lines if node == name]


def diff(old, new):
    """Return the Changes that turn the nodes of Plan `old` into those of Plan `new`."""
    changes = Changes()
    old_specs = {spec.name: spec for spec in old.nodes}
    new_names = {spec.name for spec in new.nodes}
    for spec in old.nodes:
        if spec.name not in new_names:
            changes.remove.append(spec.name)
            changes.lines.append((spec.name, f'removed {spec.name}'))
    for spec in new.nodes:
        before = old_specs.get(spec.name)
        if before is None:
            changes.add.append(spec)
            changes.lines.append((spec.name, f'added {spec.name} ({spec.executable})'))
        elif before != spec:
            reason = _restart_reason(before, spec)
            if reason:
                changes.replace.append(spec)
                changes.lines.append((spec.name, f'replaced {spec.name} ({reason})'))
            else:
                _parameter_changes(before, spec, changes)
    return changes


def _restart_reason(before, after):
    """Why the node must restart ('' if it need not)."""
    if before.executable != after.executable:
        return f'{before.executable} -> {after.executable}'
    dynamic = DYNAMIC.get(after.executable, {})
    changed = sorted(key for key in set(before.parameters) | set(after.parameters)
                     if key not in dynamic and before.parameters.get(key) != after.parameters.get(key))
    if before.remappings != after.remappings:
        changed.append('remappings')
    return f'{", ".join(changed)} changed' if changed else ''


def _parameter_changes(before, after, changes):
    dynamic = DYNAMIC[after.executable]
    for key in sorted((set(before.parameters) | set(after.parameters)) & set(dynamic)):
        old_value = before.parameters.get(key, dynamic[key])
        new_value = after.parameters.get(key, dynamic[key])
        if old_value != new_value:
            changes.parameters.setdefault(after.name, {})[key] = new_value
            default = '' if key in after.parameters else ' (default)'
            changes.lines.append((after.name, f'{after.name}: {key} {old_value!r} -> {new_value!r}{default}'))


def check_models(changes, new):
    """
    Load and check every model the changes bring (new classifiers, changed model parameters) beside the running ones.

    Return one problem per model that would be refused, naming the node.
    """
    names = {spec.name for spec in changes.add + changes.replace if spec.executable == 'classifier_node'}
    names |= {name for name, values in changes.parameters.items() if set(values) & set(MODEL_PARAMETERS)}
    return [f'{name}: {problem}' for name, problem in model_problems(new, names).items()]
