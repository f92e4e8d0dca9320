"""The typed store configs and the one masking rule: what each store setting is.

``RedisConfig`` and ``DynamoDBConfig`` are the one description of each store's settings:
every field carries its wire name, a help text and whether it is a secret in its attrs
metadata (``setting``). The codec, the apply file, the CLI's flags and ``--set-config``
read them through ``config_fields``/``parse_config``; every repr, plan and output masks
secrets through ``redact``, and ``masked_secret`` finds the API's mask where a value
would be written. ``ldstore.models`` re-exports every public name here. This module
imports nothing from ldstore but ``text``, so ``patch`` and ``models`` can both use it.
"""

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, TypeAlias, TypeVar, cast

import attrs

from ldstore.text import MASK

T = TypeVar("T")

__all__ = [
    "DYNAMODB_REGIONS",
    "MASKED",
    "ConfigError",
    "ConfigField",
    "DynamoDBConfig",
    "RedisConfig",
    "TypedConfig",
    "config_class",
    "config_field",
    "config_fields",
    "masked_repr",
    "masked_secret",
    "non_empty",
    "parse_config",
    "parse_config_value",
    "redact",
    "secret_keys",
    "setting",
    "store_kinds",
]


def masked_repr(value: object) -> str:
    """``repr(redact(value))``: an attrs ``repr=`` for fields that may hold a config."""
    return repr(redact(value))


DYNAMODB_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "sa-east-1",
    }
)
MASKED: Final = MASK
"""How the API shows a stored secret (``ldstore.text.MASK``, our reading of the API): a
value equal to it is unknown, never written back."""

_MAX_PORT = 65535
_PORT_DIGITS = len(str(_MAX_PORT))
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})
_SETTING = "ldstore.setting"  # the attrs metadata key of a store setting
_MAX_DEPTH = 32  # how deep redact() looks for secrets inside nested values


# The store configs: every layer (codec, apply file, CLI flags, --set-config, masking)
# reads what a setting is from the metadata below; nothing else spells it out again.
@attrs.frozen
class _Setting:
    wire: str
    help: str
    secret: bool
    flag: str | None
    as_text: bool
    choices: frozenset[str] | None


def setting(  # noqa: PLR0913 (all but two keyword-only)
    wire: str,
    help: str,  # noqa: A002 (argparse's word)
    *,
    secret: bool = False,
    flag: str | None = None,
    as_text: bool = False,
    choices: frozenset[str] | None = None,
) -> dict[str, object]:
    """attrs ``metadata`` declaring a store setting (for the config classes below).

    ``wire`` is its key in the API's ``config`` object; ``help`` a short description;
    ``secret`` marks a write-only value (masked wherever it is shown, sent on update
    only when asked); ``flag`` the CLI flag when it is not ``--`` plus the attribute's
    name in kebab case; ``as_text`` sends the value as a string (the Redis ``port``);
    ``choices`` lists the values the validator accepts, for the CLI's help.
    """
    declared = _Setting(
        wire=wire, help=help, secret=secret, flag=flag, as_text=as_text, choices=choices
    )
    return {_SETTING: declared}


class ConfigError(ValueError):
    """A store config built from wire keys is invalid; ``key`` is the wire key at fault."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@attrs.frozen
class ConfigField:
    """One setting of a typed store config, as every layer sees it (``config_fields``)."""

    name: str  # the attribute
    wire: str  # the key in the API's config object
    help: str
    secret: bool
    required: bool
    flag: str  # the ``ldstore create`` flag, e.g. ``--table-name``
    kind: type  # str, int or bool: what the value is once parsed
    default: object  # attrs.NOTHING when required
    as_text: bool  # sent as a string (the manifest's Redis port)
    choices: frozenset[str] | None  # the allowed values, when the model has a list
    attribute: "attrs.Attribute[Any]" = attrs.field(repr=False, eq=False)

    def parse(self, value: object) -> object:
        """A value as the CLI, an apply file or the API give it, as the model takes it.

        Strings for a bool setting are read as ``true``/``false`` (``yes``/``no``,
        ``on``/``off``, ``1``/``0``); every other value is left to the model's own
        converter and validator. Raises ``ConfigError`` naming the wire key.
        """
        if self.kind is bool and isinstance(value, str):
            word = value.strip().lower()
            if word in _TRUE | _FALSE:
                return word in _TRUE
            shown = redact(value, secret=self.secret)
            message = f"{self.wire} takes true or false, not {shown!r}"
            raise ConfigError(message, self.wire)
        return value

    def check(self, value: object) -> object:
        """``parse`` then the model's converter and validator; the value as the model holds it."""
        parsed = self.parse(value)
        try:
            # Our configs' converters are plain callables (attrs also allows Converter objects,
            # whence the type attrs declares, generic in what pyright cannot infer here).
            converter = cast(
                "Callable[[object], object] | None",
                self.attribute.converter,  # pyright: ignore[reportUnknownMemberType]
            )
            converted = parsed if converter is None else converter(parsed)
            if self.attribute.validator is not None:
                self.attribute.validator(None, self.attribute, converted)
        except (TypeError, ValueError) as error:
            raise ConfigError(self._in_wire_words(error), self.wire) from None
        return converted

    def to_wire(self, value: object) -> object:
        """The value as it travels in the API's ``config`` object."""
        return str(value) if self.as_text else value

    def _in_wire_words(self, error: Exception) -> str:
        # The models' messages start with the attribute's name: say the wire's instead.
        text = str(error)
        if text.startswith(self.name):
            return self.wire + text[len(self.name) :]
        return f"{self.wire}: {text}"


# Validators take object: they check at run time what the annotations promise. Their
# messages start with the attribute's name (ConfigField renames it to the wire key).
def non_empty(_: object, attribute: "attrs.Attribute[Any]", value: object) -> None:
    """attrs validator: a string with something besides whitespace."""
    if not isinstance(value, str):
        msg = f"{attribute.name} must be a string, not {type(value).__name__}"
        raise TypeError(msg)
    if not value.strip():
        msg = f"{attribute.name} must not be empty"
        raise ValueError(msg)


def _optional_str(_: object, attribute: "attrs.Attribute[str | None]", value: object) -> None:
    if value is not None and not isinstance(value, str):
        msg = f"{attribute.name} must be a string or None, not {type(value).__name__}"
        raise TypeError(msg)


def _to_port(value: int | str) -> int:
    # The API sends the port back as a string: accept that, so a config read back can
    # be passed in again. Anything else is left for _port to refuse.
    if not isinstance(value, str):
        return value
    if not (value.isascii() and value.isdigit() and len(value) <= _PORT_DIGITS):
        msg = f"port must be an int or a string of its digits (port takes a number from 1 to {_MAX_PORT}), not {value!r}"
        raise ValueError(msg)
    return int(value)


def _port(_: object, attribute: "attrs.Attribute[int]", value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"port must be an int (or a string of digits), not {type(value).__name__}"
        raise TypeError(msg)
    if not 1 <= value <= _MAX_PORT:
        msg = f"port must be between 1 and {_MAX_PORT}, not {value}"
        raise ValueError(msg)


def _bool(_: object, attribute: "attrs.Attribute[bool]", value: object) -> None:
    if not isinstance(value, bool):
        msg = f"{attribute.name} must be a bool, not {type(value).__name__}"
        raise TypeError(msg)


def _region(_: object, attribute: "attrs.Attribute[str]", value: object) -> None:
    non_empty(_, attribute, value)
    if value not in DYNAMODB_REGIONS:
        msg = f"region {value!r} is not one LaunchDarkly supports: {', '.join(sorted(DYNAMODB_REGIONS))}"
        raise ValueError(msg)


def _role_arn(_: object, attribute: "attrs.Attribute[str]", value: object) -> None:
    non_empty(_, attribute, value)
    if not str(value).startswith("arn:"):
        msg = f"role_arn must be an IAM role ARN starting with 'arn:', not {value!r}"
        raise ValueError(msg)


class _Settings:
    """The base of the typed store configs: a repr masking every setting marked secret."""

    __slots__ = ()
    integration_key: ClassVar[str]  # the store kind, as the wire spells it
    title: ClassVar[str]  # the store's name in messages

    @classmethod
    def __attrs_init_subclass__(cls) -> None:
        # attrs calls this once it has built each subclass (this one's subclasses too):
        # its generated repr would show a secret, so every config gets the masking one.
        setattr(cls, "__repr__", _settings_repr)  # noqa: B010 (mypy refuses assigning a method)


def _settings_repr(self: object) -> str:
    shown = ", ".join(
        f"{field.name}={redact(getattr(self, field.name), secret=_is_secret(field))!r}"
        for field in attrs.fields(cast("type[attrs.AttrsInstance]", type(self)))
    )
    return f"{type(self).__name__}({shown})"


def _is_secret(attribute: "attrs.Attribute[Any]") -> bool:
    declared = attribute.metadata.get(_SETTING)
    return isinstance(declared, _Setting) and declared.secret


@attrs.frozen
class RedisConfig(_Settings):
    """A Redis big segment store; encodes to ``host``, ``port`` (a string), ``tlsEnabled``, ...

    ``port`` is an int from 1 to 65535, or a string of digits as the API sends it back.
    The password shows as ``'********'`` in ``repr`` (every setting marked secret does).

    >>> RedisConfig(host="redis.internal", port=6380, tls_enabled=True)
    """

    integration_key: ClassVar[str] = "redis"
    title: ClassVar[str] = "Redis"

    host: str = attrs.field(validator=non_empty, metadata=setting("host", "Redis host name"))
    port: int = attrs.field(
        default=6379,
        converter=_to_port,
        validator=_port,
        metadata=setting("port", "Redis port", as_text=True),
    )
    username: str | None = attrs.field(
        default=None, validator=_optional_str, metadata=setting("username", "Redis user name")
    )
    password: str | None = attrs.field(
        default=None,
        validator=_optional_str,
        metadata=setting("password", "Redis password", secret=True),
    )
    tls_enabled: bool = attrs.field(
        default=False,
        validator=_bool,
        metadata=setting("tlsEnabled", "connect to Redis over TLS", flag="--tls"),
    )


@attrs.frozen
class DynamoDBConfig(_Settings):
    """A DynamoDB big segment store (partition key ``namespace``, sort key ``key``)."""

    integration_key: ClassVar[str] = "dynamodb"
    title: ClassVar[str] = "DynamoDB"

    table_name: str = attrs.field(
        validator=non_empty,
        metadata=setting("tableName", "table with partition key `namespace`, sort key `key`"),
    )
    region: str = attrs.field(
        validator=_region,
        metadata=setting("region", "AWS region", choices=DYNAMODB_REGIONS),
    )
    role_arn: str = attrs.field(
        validator=_role_arn,
        metadata=setting("roleArn", "IAM role LaunchDarkly assumes (arn:...)"),
    )
    external_id: str = attrs.field(
        validator=non_empty, metadata=setting("externalId", "external ID of that role")
    )


TypedConfig: TypeAlias = RedisConfig | DynamoDBConfig
C = TypeVar("C", bound=TypedConfig)
_CONFIG_CLASSES: dict[str, type[TypedConfig]] = {
    cls.integration_key: cls for cls in (RedisConfig, DynamoDBConfig)
}


def config_class(integration_key: str) -> type[TypedConfig] | None:
    """The typed config of a store kind (``"redis"``: ``RedisConfig``), ``None`` if unknown.

    Kinds are case-sensitive, as the API's are: ``"Redis"`` is not a kind.
    """
    return _CONFIG_CLASSES.get(str(integration_key))


def store_kinds() -> tuple[str, ...]:
    """The store kinds this release knows a typed config for, as the wire spells them."""
    return tuple(_CONFIG_CLASSES)


def config_fields(cls: type[attrs.AttrsInstance]) -> tuple[ConfigField, ...]:
    """The settings of a typed config class, in declaration order, from its metadata.

    Empty for any other attrs class.
    """
    known = _FIELDS.get(cls)
    if known is None:
        # Read on every create and patch (the mask check): described once per class.
        known = _FIELDS[cls] = _described(cls)
    return known


_FIELDS: dict[type[Any], tuple["ConfigField", ...]] = {}


def _described(cls: type[attrs.AttrsInstance]) -> tuple[ConfigField, ...]:
    if not any(_SETTING in attribute.metadata for attribute in attrs.fields(cls)):
        return ()  # not a store config: its annotations need not even resolve
    found: list[ConfigField] = []
    for attribute in attrs.fields(attrs.resolve_types(cls)):
        declared = attribute.metadata.get(_SETTING)
        if not isinstance(declared, _Setting):
            continue
        kind = next(
            (t for t in (bool, int, str) if attribute.type is t or attribute.type == t | None),
            str,
        )
        found.append(
            ConfigField(
                name=attribute.name,
                wire=declared.wire,
                help=declared.help,
                secret=declared.secret,
                required=attribute.default is attrs.NOTHING,
                flag=declared.flag or "--" + attribute.name.replace("_", "-"),
                kind=kind,
                default=attribute.default,
                as_text=declared.as_text,
                choices=declared.choices,
                attribute=attribute,
            )
        )
    return tuple(found)


def config_field(cls: type[TypedConfig], key: str) -> ConfigField | None:
    """The setting ``key`` names: its wire name, or its attribute's name in snake or kebab case."""
    for field in config_fields(cls):
        if key in (field.wire, field.name, field.name.replace("_", "-")):
            return field
    return None


def parse_config(cls: type[C], wire: Mapping[str, object], *, ignore_unknown: bool = False) -> C:
    """Build a typed config from the API's keys, with values as the CLI, a file or the API give them.

    Strings are accepted where the wire has them (``port="6380"``, ``tlsEnabled="true"``);
    everything is checked by the model's own validators. A secret equal to ``MASKED``
    (as read back from the API) is unknown: it becomes ``None``. Raises ``ConfigError``
    (a ``ValueError``) whose ``key`` and message name the wire key: an unknown key (unless
    ``ignore_unknown``), a missing required one, or an invalid value.
    """
    fields = {field.wire: field for field in config_fields(cls)}
    arguments: dict[str, Any] = {}
    for key, value in wire.items():
        field = fields.get(key)
        if field is None:
            if ignore_unknown:
                continue
            known = ", ".join(fields)
            message = f"{key} is not a {cls.integration_key} setting (known: {known})"
            raise ConfigError(message, key)
        if field.secret and value == MASKED:
            continue  # the API's mask is not the secret: leave it unset
        arguments[field.name] = field.check(value)
    for key, field in fields.items():
        if field.required and field.name not in arguments:
            message = f"{key} is required"
            raise ConfigError(message, key)
    return cls(**arguments)


def parse_config_value(cls: type[TypedConfig], key: str, value: object) -> tuple[str, object]:
    """One setting, named as ``config_field`` accepts, as (wire key, wire value): for a patch.

    The value is checked by the model's converter and validator (``port="http"`` is
    refused) and sent in the wire's type (the Redis port as a string). A secret equal to
    ``MASKED`` is refused: it is the API's mask, not a value. Raises ``ConfigError``.
    """
    field = config_field(cls, key)
    if field is None:
        known = ", ".join(field.wire for field in config_fields(cls))
        message = f"{key} is not a {cls.integration_key} setting (known: {known})"
        raise ConfigError(message, key)
    if field.secret and value == MASKED:
        message = f"{field.wire}: {MASKED!r} is how the API masks a stored secret, not a value"
        raise ConfigError(message, field.wire)
    return field.wire, field.to_wire(field.check(value))


def secret_keys(integration_key: str | None = None) -> frozenset[str]:
    """The wire keys marked secret: of one store kind, or (``None``) of every known kind."""
    if integration_key is None:
        classes = tuple(_CONFIG_CLASSES.values())
    else:
        cls = config_class(integration_key)
        classes = () if cls is None else (cls,)
    return frozenset(field.wire for cls in classes for field in config_fields(cls) if field.secret)


def redact(value: T, *, secret: bool = False) -> T:
    """``value`` as it may be shown: the one masking rule of ldstore.

    With ``secret=True`` the value itself is a secret: ``MASKED`` (``None`` stays
    ``None``). Otherwise a mapping's members whose key is a secret setting of any store
    kind (``password``) are masked, at any depth, inside mappings, lists and tuples;
    other values are returned as they are. Every repr, plan and output uses it.
    """
    # Typed as the value given: secrets are strings, and the mask is one too.
    if secret:
        return value if value is None else cast("T", MASKED)
    return cast("T", _redacted(value, secret_keys(), _MAX_DEPTH))


def _redacted(value: object, secrets: frozenset[str], depth: int) -> object:
    if depth <= 0:
        return value
    if isinstance(value, Mapping):
        members = cast("Mapping[object, object]", value)
        return {
            key: MASKED
            if key in secrets and item is not None
            else _redacted(item, secrets, depth - 1)
            for key, item in members.items()
        }
    if isinstance(value, list | tuple):
        items = [_redacted(item, secrets, depth - 1) for item in cast("list[object]", value)]
        return tuple(items) if isinstance(value, tuple) else items
    return value


def masked_secret(value: object, member: str | None = None) -> str | None:
    """Where ``value`` holds ``MASKED`` as a secret: the dotted path of the first secret
    setting equal to it (``config.password``), or None. The one rule behind "the mask is
    never written back": the funcs refuse a create or a patch that would write it.

    ``member`` is the name ``value`` is written under, when it may be the secret itself
    (a patch's ``/config/password``). Looks inside mappings, lists, tuples and typed
    configs, as deep as ``redact`` does.
    """
    # Read on every create and patch: the usual values (a typed config, a string, a bool)
    # are answered without a walk.
    if member is not None:
        if isinstance(value, str):
            return member if value == MASKED and member in secret_keys() else None
        if isinstance(value, bool | int | float | None):
            return None
        return masked_secret({member: value})
    if isinstance(value, _Settings):
        return _masked_setting(value)
    return _masked_secret(value, secret_keys(), "", _MAX_DEPTH)


def _masked_setting(config: "_Settings") -> str | None:
    for field in config_fields(cast("type[attrs.AttrsInstance]", type(config))):
        if field.secret and getattr(config, field.name) == MASKED:
            return field.wire
    return None


def _masked_secret(value: object, secrets: frozenset[str], where: str, depth: int) -> str | None:
    if depth <= 0:
        return None
    if isinstance(value, _Settings):
        found = _masked_setting(value)
        return None if found is None else f"{where}.{found}" if where else found
    if isinstance(value, Mapping):
        for key, item in cast("Mapping[object, object]", value).items():
            path = f"{where}.{key}" if where else str(key)
            if key in secrets and isinstance(item, str) and item == MASKED:
                return path
            found = _masked_secret(item, secrets, path, depth - 1)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(cast("list[object]", value)):
            found = _masked_secret(item, secrets, f"{where}[{index}]", depth - 1)
            if found is not None:
                return found
    return None
