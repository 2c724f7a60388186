"""TLS settings as botocore's ``verify`` means them, and what a TLS failure means.

Both sending paths share this: the event loop's (which builds its own context) and
botocore's (whose failures arrive wrapped in botocore and urllib3 errors).
"""

from __future__ import annotations

import errno
import os
import ssl

from . import errors

__all__ = ["HINT", "ssl_context", "tls_problem"]

HINT = "Check the endpoint's certificate and the client's verify= setting (or AWS_CA_BUNDLE)"

_contexts: dict[bool | str, ssl.SSLContext] = {}


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """A client context verifying like botocore's ``verify`` (True, False or a CA path).

    Raises:
        ConfigurationError: The CA bundle cannot be read.
    """
    context = _contexts.get(verify)
    if context is None:
        from botocore.httpsession import get_cert_path

        if verify is False:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            bundle = get_cert_path(verify)  # type: ignore[arg-type]  # botocore's stub says bool
            try:
                if bundle is not None and os.path.isdir(bundle):
                    context = ssl.create_default_context(capath=bundle)
                else:
                    context = ssl.create_default_context(cafile=bundle)
            except (OSError, ValueError) as exc:
                raise errors.ConfigurationError(
                    f"cannot load the CA bundle {bundle!r}: {exc}", hint=HINT
                ) from exc
        _contexts[verify] = context
    return context


_FILE_ERRNOS = {errno.ENOENT, errno.EISDIR, errno.EACCES, errno.ENOTDIR}


def tls_problem(exc: BaseException) -> BaseException | None:
    """The certificate or CA-bundle error behind ``exc``, if that is what it is.

    Such errors never go away on a retry. botocore wraps them in its ``SSLError``,
    around urllib3's, around the ``ssl`` or file error; this looks through the chain.
    """
    from botocore.exceptions import SSLError as BotoSSLError
    from urllib3.exceptions import SSLError as Urllib3SSLError

    stack: list[tuple[BaseException, bool]] = [(exc, False)]
    for _ in range(16):  # a bounded walk: chains can be cyclic
        if not stack:
            break
        error, in_tls = stack.pop()
        if isinstance(error, ssl.SSLCertVerificationError):
            return error
        in_tls = in_tls or isinstance(error, ssl.SSLError | BotoSSLError | Urllib3SSLError)
        if in_tls and isinstance(error, OSError) and error.errno in _FILE_ERRNOS:
            return error  # the CA bundle could not be read
        kwargs = getattr(error, "kwargs", None)
        inner = [*error.args, error.__cause__, error.__context__]
        if isinstance(kwargs, dict):
            inner.append(kwargs.get("error"))
        stack.extend((e, in_tls) for e in inner if isinstance(e, BaseException))
    return None
