"""Declaring a node's parameters from its table (core.parameters), typed, with descriptors."""
import copy

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.parameter import Parameter

from vision_classifier.core.parameters import NODE_NAME
from vision_classifier.nodes import compat
from vision_classifier.nodes.main import StartupError

PARAMETER_TYPES = {'bool': Parameter.Type.BOOL, 'integer': Parameter.Type.INTEGER, 'double': Parameter.Type.DOUBLE,
                   'string': Parameter.Type.STRING, 'double_array': Parameter.Type.DOUBLE_ARRAY,
                   'string_array': Parameter.Type.STRING_ARRAY}
ARRAY_TYPES = (Parameter.Type.BYTE_ARRAY, Parameter.Type.BOOL_ARRAY, Parameter.Type.INTEGER_ARRAY,
               Parameter.Type.DOUBLE_ARRAY, Parameter.Type.STRING_ARRAY)
TYPE_NAMES = {Parameter.Type.BOOL: 'a boolean', Parameter.Type.INTEGER: 'an integer', Parameter.Type.DOUBLE: 'a number',
              Parameter.Type.STRING: 'a string', Parameter.Type.DOUBLE_ARRAY: 'a list of numbers',
              Parameter.Type.STRING_ARRAY: 'a list of strings'}


def descriptor(param):
    """Return the ParameterDescriptor of a core.parameters.Param."""
    d = ParameterDescriptor(description=param.description, read_only=not param.dynamic,
                            type=PARAMETER_TYPES[param.type].value)
    if param.range and param.type == 'double':
        d.floating_point_range = [FloatingPointRange(from_value=float(param.range[0]),
                                                     to_value=float(param.range[1]))]
    elif param.range and param.type == 'integer':
        d.integer_range = [IntegerRange(from_value=int(param.range[0]), to_value=int(param.range[1]))]
    if param.choices:
        d.additional_constraints = 'one of: ' + ', '.join(param.choices)
    return d


def coerced(param, expected):
    """
    Return `param` as type `expected` where its value fits, else None.

    It fits when it is an integer for a float, integers for floats, or an empty list of any type for an empty list.
    rclpy converts none of these by itself.
    """
    if param.type_ == expected:
        return param
    if expected == Parameter.Type.DOUBLE and param.type_ == Parameter.Type.INTEGER:
        return Parameter(param.name, expected, float(param.value))
    if expected == Parameter.Type.DOUBLE_ARRAY and param.type_ == Parameter.Type.INTEGER_ARRAY:
        return Parameter(param.name, expected, [float(v) for v in param.value])
    if expected in ARRAY_TYPES and param.type_ in ARRAY_TYPES and len(param.value) == 0:
        return Parameter(param.name, expected, [])
    return None


def declare(node, table):
    """
    Declare every parameter of `table` with a typed value, so `ros2 param get/dump` show each one.

    Values given at start are converted as `coerced` does and checked against their choices and range; returns
    {name: value}. Values set later (`ros2 param set`) are converted the same way.
    """
    values = {}
    for param in table.values():
        expected = PARAMETER_TYPES[param.type]
        default = node.get_name() if param.default is NODE_NAME else param.default
        default = list(default) if isinstance(default, tuple) else default
        final = descriptor(param)
        accepting = copy.deepcopy(final)  # any type, for now: rclpy would refuse an integer for a float
        accepting.dynamic_typing, accepting.read_only = True, False
        accepting.type = Parameter.Type.NOT_SET.value
        given = node.declare_parameter(param.name, default, accepting)
        if given.type_ == Parameter.Type.NOT_SET:  # e.g. `name: []` in a params file (rcl keeps no type for it)
            given = Parameter(param.name, value=default)
        value = coerced(given, expected)
        if value is None:
            raise StartupError(f'parameter {param.name}: expected {TYPE_NAMES.get(expected, expected.name)}, '
                               f'got {given.value!r}')
        problem = param.check(value.value) if expected not in ARRAY_TYPES else None
        if problem:
            raise StartupError(problem)
        compat.set_descriptor(node, param.name, final, value)
        values[param.name] = node.get_parameter(param.name).value
    compat.coerce_on_set(node, coerced)
    return values


def updated(values, params, table):
    """
    Return `values` with the dynamic parameters among `params` (rclpy Parameters, being set) applied.

    Raises ValueError naming a value out of its choices or range.
    """
    values = dict(values)
    for p in params:
        spec = table.get(p.name)
        if spec is None or not spec.dynamic:
            continue
        value = p.value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and spec.type == 'double':
            value = float(value)
        problem = spec.check(value) if not spec.type.endswith('_array') else None
        if problem:
            raise ValueError(problem)
        values[p.name] = list(value) if spec.type.endswith('_array') else value
    return values


def typed_parameter(node, name, value):
    """Return a Parameter of the type `node` declared (so [] is an empty string or double array, not a byte array)."""
    return Parameter(name, Parameter.Type(node.describe_parameter(name).type), value)
