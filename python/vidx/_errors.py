"""The exception classes of vidx: one per libvidx error code (VIDX_E* in
include/vidx/common.h), all under vidx.Error, registered with the extension so
that every failure of a C call raises the class of its code, carrying the file
and the cause."""
import builtins

from . import _ext

_vidx = _ext.load()


class Error(Exception):
    """A libvidx failure: .code (the C error code), .error_class (its short class
    name, as the catalog and the CLI's JSON spell it), .file (the file or
    directory the call was about) and .cause (what went wrong, with detail)."""

    def __init__(self, code, error_class='', file='', cause=''):
        super().__init__(code, error_class, file, cause)
        self.code = code
        self.error_class = error_class
        self.file = file
        self.cause = cause

    def __str__(self):
        return '%s: %s' % (self.file, self.cause) if self.file else str(self.cause)


class OSError(Error, builtins.OSError):
    """A system error (negative errno codes: missing file, permission, ...);
    also a builtins.OSError with .errno, .strerror and .filename."""

    def __init__(self, code, error_class='', file='', cause=''):
        Error.__init__(self, code, error_class, file, cause)
        self.errno = -code
        self.strerror = cause
        self.filename = file

    def __str__(self):
        return Error.__str__(self)


# Names for the classes of the VIDX_E* codes; a code added to the C library
# later gets "<Short>Error" until it is named here.
_NAMES = {
    'novideo': 'NoVideoError', 'format': 'FormatError', 'refused': 'RefusedError',
    'decode': 'DecodeError', 'range': 'RangeError', 'encode': 'EncodeError',
    'usage': 'UsageError', 'truncated': 'TruncatedError', 'limit': 'LimitError',
    'catalog': 'CatalogError', 'interrupted': 'InterruptedError', 'timeout': 'TimeoutError',
    'crash': 'CrashError', 'memory': 'MemoryLimitError', 'network': 'NetworkError',
    'empty': 'EmptyFileError', 'notfile': 'NotAFileError', 'notours': 'NotOursError',
    'locked': 'LockedError', 'lease': 'LeaseError',
}
# Also instances of these builtins, so that generic handlers catch them.
_ALSO = {'usage': ValueError, 'range': ValueError}

classes = {}      # name -> class
by_code = {}      # code -> class
for _code, _short, _message in _vidx.error_codes():
    _name = _NAMES.get(_short, _short.capitalize() + 'Error')
    _bases = (Error,) + ((_ALSO[_short],) if _short in _ALSO else ())
    _cls = type(_name, _bases, {'__doc__': 'libvidx error %d (%s): %s.' % (_code, _short, _message),
                                '__module__': 'vidx'})
    classes[_name] = _cls
    by_code[_code] = _cls

_vidx.set_error_classes(dict(by_code), Error, OSError)
