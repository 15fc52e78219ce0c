# conftest.py - fixtures that run real Tollgate brokers for the end-to-end
# suite: one shared session broker for tests whose state does not interfere,
# and a per-module factory for brokers with their own configuration (TLS,
# short lifetimes, crash/restart). Every broker is stopped with SIGTERM at the
# end and must exit 0; with TOLLGATE_SANITIZED=1 its stderr must also be
# free of AddressSanitizer / UBSan / LeakSanitizer reports. And a real
# receiver for a module's brokers' alert webhook.
import pytest

from tollgate_e2e import BIN, E2E_POLICY, AlertWebhook, Broker


def pytest_report_header(config):
    return f"tollgate binary: {BIN}"


def _stop_all(brokers):
    errors = []
    for b in brokers:
        try:
            b.stop()
        except AssertionError as e:  # stop every broker, then report
            errors.append(str(e))
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """The shared broker with the default configuration."""
    b = Broker(tmp_path_factory.mktemp("shared")).start()
    yield b
    _stop_all([b])


@pytest.fixture(scope="module")
def broker_factory(tmp_path_factory):
    """make(args=[...], tls={...}, start=True, policy=E2E_POLICY) -> a Broker
    of this module (policy=None: it starts with no policy, denying every
    scope)."""
    made = []

    def make(args=(), tls=None, start=True, name="broker", policy=E2E_POLICY):
        b = Broker(tmp_path_factory.mktemp(name), args=args, tls=tls, policy=policy)
        made.append(b)
        return b.start() if start else b

    yield make
    _stop_all(made)


@pytest.fixture(scope="module")
def alert_webhook():
    """An AlertWebhook for this module's brokers (alert_webhook=its .url)."""
    hook = AlertWebhook()
    yield hook
    hook.stop()
