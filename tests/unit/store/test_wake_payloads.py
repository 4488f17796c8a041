"""Wake-up payloads: the JSON the replicas exchange, split under PostgreSQL's 8000-byte limit."""

from __future__ import annotations

import json
import uuid

from structlog.testing import capture_logs

from enode_scheduler.store.wakes import MAX_PAYLOAD_BYTES, Wake, decode, encode


def test_small_batch_is_one_payload_of_the_shared_shape() -> None:
    payloads = encode(["veh-1", "veh-2", "veh-1"], replan=True)
    assert [json.loads(p) for p in payloads] == [
        {"vehicle_ids": ["veh-1", "veh-2"], "replan": True}
    ]


def test_large_batch_splits_under_the_limit_keeping_every_id_once_in_order() -> None:
    ids = [str(uuid.UUID(int=i)) for i in range(2000)]
    payloads = encode(ids, replan=False)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)
    # Full payloads: splitting wastes little (each but the last is near the limit).
    assert all(len(p.encode()) > MAX_PAYLOAD_BYTES - 50 for p in payloads[:-1])
    decoded = [decode(p) for p in payloads]
    assert [vid for w in decoded if w for vid in w.vehicle_ids] == ids
    assert all(w is not None and w.replan is False for w in decoded)


def test_ids_needing_escapes_count_their_encoded_bytes() -> None:
    ids = [f'v\u00e9h"{i:05d}' + "\u2603" * 40 for i in range(300)]
    payloads = encode(ids, replan=True)
    assert all(len(p.encode()) <= MAX_PAYLOAD_BYTES for p in payloads)
    assert [vid for p in payloads for vid in json.loads(p)["vehicle_ids"]] == ids


def test_an_id_too_long_for_any_payload_is_left_out_and_logged() -> None:
    with capture_logs() as events:
        payloads = encode(["ok", "x" * MAX_PAYLOAD_BYTES], replan=False)
    assert [json.loads(p)["vehicle_ids"] for p in payloads] == [["ok"]]
    assert [e["event"] for e in events] == ["wake_id_too_long"]


def test_nothing_to_send_is_no_payload() -> None:
    assert encode([], replan=True) == []


def test_decode_refuses_what_is_not_a_wake_up() -> None:
    assert decode('{"vehicle_ids":["a"],"replan":false}') == Wake(("a",), replan=False)
    with capture_logs() as events:
        for bad in (
            "",
            "[]",
            "{}",
            '{"vehicle_ids":"a","replan":true}',
            '{"vehicle_ids":[1],"replan":true}',
            '{"vehicle_ids":["a"],"replan":1}',
        ):
            assert decode(bad) is None, bad
    assert {e["event"] for e in events} == {"wake_payload_invalid"}
