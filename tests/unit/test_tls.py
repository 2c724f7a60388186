"""What a TLS failure means: a refused certificate or an unreadable CA bundle, or neither."""

from __future__ import annotations

import ssl

import pytest
from botocore.exceptions import SSLError as BotoSSLError
from urllib3.exceptions import SSLError as Urllib3SSLError

from langchain_jumpstart_stream import errors
from langchain_jumpstart_stream._tls import ssl_context, tls_problem


def _botocore_wrapped(inner: BaseException) -> BaseException:
    """As botocore raises it: its SSLError around urllib3's around the real error."""
    return BotoSSLError(endpoint_url="https://x", error=Urllib3SSLError(inner))


def test_a_refused_certificate_is_found_through_the_wrappers() -> None:
    refused = ssl.SSLCertVerificationError(1, "certificate verify failed")
    assert tls_problem(refused) is refused
    assert tls_problem(_botocore_wrapped(refused)) is refused


def test_an_unreadable_ca_bundle_is_found_only_inside_a_tls_error() -> None:
    missing = FileNotFoundError(2, "No such file or directory")
    assert tls_problem(_botocore_wrapped(missing)) is missing
    assert tls_problem(missing) is None  # a missing file elsewhere is not about TLS


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),  # transient: retry
        _botocore_wrapped(ssl.SSLZeroReturnError(6, "closed")),
        TimeoutError("timed out"),
    ],
)
def test_other_failures_are_not_tls_setup_problems(error: BaseException) -> None:
    assert tls_problem(error) is None


def test_a_cyclic_chain_ends() -> None:
    a = OSError("a")
    b = OSError("b")
    a.__context__ = b
    b.__context__ = a
    assert tls_problem(a) is None


def test_contexts_follow_botocore_verify(tmp_path) -> None:
    assert ssl_context(True).verify_mode == ssl.CERT_REQUIRED
    unverified = ssl_context(False)
    assert unverified.verify_mode == ssl.CERT_NONE and not unverified.check_hostname
    with pytest.raises(errors.ConfigurationError, match="CA bundle"):
        ssl_context(str(tmp_path / "missing.pem"))
    assert ssl_context(str(tmp_path)).verify_mode == ssl.CERT_REQUIRED  # a CA directory
