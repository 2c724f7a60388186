"""TLS settings as botocore's ``verify`` means them, and what a TLS failure means.

Both sending paths share one :class:`ssl.SSLContext` per route (see :mod:`._route`).
Nothing is cached beyond the route that built it, so a new model or client reads
a rotated CA bundle again.
"""

from __future__ import annotations

import errno
import os
import ssl

from . import errors

__all__ = ["HINT", "ssl_context", "tls_problem"]

HINT = (
    "Check the endpoint's certificate and the model's verify= setting (or AWS_CA_BUNDLE); "
    "a boto3 client's own verify= is not visible to the package: pass it to the model"
)


def ssl_context(
    verify: bool | str, client_cert: str | tuple[str, str] | None = None
) -> ssl.SSLContext:
    """A new client context verifying like botocore's ``verify`` (True, False or a CA path).

    Args:
        verify: ``True`` for botocore's default CA bundle, ``False`` to skip
            verification, or the path of a CA bundle file or directory.
        client_cert: A client certificate (path, or (certificate, key) paths).

    Raises:
        ConfigurationError: The CA bundle or the client certificate cannot be read.
    """
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
    if client_cert:
        cert, key = client_cert if isinstance(client_cert, tuple) else (client_cert, None)
        try:
            context.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise errors.ConfigurationError(
                f"cannot load the client certificate {cert!r}: {exc.__class__.__name__}",
                hint="Check Config(client_cert=...)",
            ) from exc
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
