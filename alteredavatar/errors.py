"""Exception types a user can act on; the CLI prints their message without a traceback."""


class AlteredAvatarError(Exception):
    """Base class for every error we raise on purpose."""


class AvatarLoadError(AlteredAvatarError):
    """An avatar file is missing, not glTF, or holds a mesh we cannot use."""


class AssetMissingError(AlteredAvatarError):
    """Data or weights we need are not installed; the message says what to get and where to put it."""


class ConfigError(AlteredAvatarError):
    """A user-given option is out of range or inconsistent."""


class StyleInputError(AlteredAvatarError):
    """A style prompt or style image cannot be used."""


class TrainingError(AlteredAvatarError):
    """Optimisation went wrong (e.g. a non-finite loss); nothing partial was written."""


class OutputWriteError(AlteredAvatarError):
    """Outputs could not be written (disk full, no permission); the partial ones were removed."""


class PhotoInputError(AlteredAvatarError):
    """A photo cannot be used for an avatar (not an image, no face, a face too small)."""
