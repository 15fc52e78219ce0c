# test_request_time_context.py - decisions taken before the request (token
# issuance, grant requests) do not know what the enforcement point adds per
# request (HTTP method and path, Modbus function, unit, address, count,
# values): a permit whose condition reads one of them is possible, a forbid
# whose condition reads one does not apply yet, and the request-time
# decision (/v1/authorize with that context here, the edge in
# test_modbus_proxy.py and test_edge.py; a secret read at the broker)
# decides it. docs/policy.md, "Decisions before the request".
import pytest

from test_grants import request_grant
from tollgate_e2e import assert_oauth_error

POLICY = """\
@id("orders-get-only")
permit(principal == Workload::"reader", action == Action::"orders.read", resource == Api::"orders")
when { context.method == "GET" && context.path like "/orders/*" };

@id("no-delete")
forbid(principal, action, resource == Api::"orders") when { context.method == "DELETE" };

@id("plc-write-range")
@requires_grant("1")
permit(principal == Workload::"maint", action == Action::"modbus.write", resource == Device::"plc-7")
when { context.address >= 100 && context.address + context.count <= 110 };

@id("plc-hours")
permit(principal == Workload::"maint", action == Action::"modbus.read", resource == Device::"plc-7")
when { context.hour == 25 };

@id("secret-by-path")
permit(principal == Workload::"reader", action == Action::"secret.read", resource == Secret::"erp-db")
when { context.path == "/v1/secrets/erp-db" };

@id("unknown-attribute")
permit(principal == Workload::"maint", action == Action::"modbus.diagnostic", resource == Device::"plc-7")
when { context.shift == "night" };
"""


@pytest.fixture(scope="module")
def rb(broker_factory):
    b = broker_factory(policy=POLICY)
    b.set_entities([{"uid": {"type": "Device", "id": "plc-7"}, "attrs": {}, "parents": []}])
    b.reader = b.create_identity("reader", permit=[])
    b.maint = b.create_identity("maint", permit=[])
    return b


def test_a_permit_on_the_request_method_allows_issuance_and_is_decided_per_request(rb):
    token = rb.issue(rb.reader, "orders.read@Api:orders")
    decide = lambda method, path: rb.authorize(token=token, action="orders.read", resource="Api:orders",
                                               context={"method": method, "path": path})
    assert decide("GET", "/orders/7")["decision"] == "allow"
    assert decide("POST", "/orders/7")["decision"] == "deny"
    assert decide("DELETE", "/orders/7")["decision"] == "deny"


def test_a_grant_for_a_register_range_is_possible_and_the_range_is_decided_per_request(rb):
    g = request_grant(rb, identity="maint", scope="modbus.write@Device:plc-7", reason="recalibrate")
    assert g["state"] == "pending" and g["approvals_required"] == 1, g
    decide = lambda address, count: rb.authorize(principal="Workload:maint", action="modbus.write",
                                                 resource="Device:plc-7",
                                                 context={"address": address, "count": count})
    # Without the grant's approval the @requires_grant permit does not
    # count at request time either; the range alone decides nothing here.
    assert decide(100, 5)["decision"] == "deny"


def test_what_is_known_before_the_request_still_decides(rb):
    # context.hour is known at issuance: 25 never matches.
    r = rb.token(rb.maint, "modbus.read@Device:plc-7")
    assert_oauth_error(r, 400, "invalid_scope")
    # An attribute no enforcement point sets is an error as before.
    r = rb.token(rb.maint, "modbus.diagnostic@Device:plc-7")
    assert_oauth_error(r, 400, "invalid_scope")


def test_a_secret_read_is_a_request_time_decision(rb):
    # Issuance finds the permit possible; the read itself is decided for the
    # request being served, whose context has no path: the permit errors.
    r = rb.api("PUT", "/v1/secrets/erp-db", {"value": "s3cr3t"})
    assert r.status_code == 201, r.text
    token = rb.issue(rb.reader, "secret.read@Secret:erp-db")
    r = rb.api("GET", "/v1/secrets/erp-db", token=token)
    assert r.status_code == 403, r.text
