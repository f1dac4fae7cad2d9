import struct

from data import tracker


def test_instrument_names_decide_the_stem_and_unclear_ones_decide_nothing():
    names = {
        "bass:elwood": "bass",
        "bass-guitar:maz": "bass",
        "whee-analog-bass:*": "bass",
        "snare:*": "drums",
        "closed hihat": "drums",
        "hat:alexg": "drums",
        "tom:*": "drums",
        "cymbalcrash:*": "drums",
        "bassdrum:*": "drums",
        "string-piano:timelord": "other",
        "flute:nino": "other",
        "vibe": "other",
        "bass-oboe:*": "other",
        "Bassoon": "other",
        "brass-choir:maz": None,
        "oooburst:*": None,
        "whee:maz": None,
        "Comp12": None,
        "": None,
        "by": None,
    }
    assert {n: tracker.stem_of(n) for n in names} == names


def it_module(names: list[str]) -> bytes:
    """The header of an IT module in instrument mode with one instrument header per name (no patterns)."""
    head = bytearray(0xC0)
    head[:4] = b"IMPM"
    orders = 2
    struct.pack_into("<HHHH", head, 0x20, orders, len(names), 0, 0)
    struct.pack_into("<HHH", head, 0x28, 0x214, 0x214, 0x04 | 0x01)  # Cwt, Cmwt, flags: instrument mode
    body = bytearray(head + b"\xFF" * orders + bytes(4 * len(names)))
    for i, name in enumerate(names):
        struct.pack_into("<I", body, 0xC0 + orders + 4 * i, len(body))
        ins = bytearray(554)
        ins[:4] = b"IMPI"
        ins[0x18] = 128  # global volume
        ins[0x20 : 0x20 + len(name)] = name.encode()
        body += ins
    return bytes(body)


def test_only_the_kept_instrument_keeps_its_global_volume():
    data = it_module(["bass:*", "snare:*", "flute:nino"])
    found = tracker.instruments(data)
    assert [n for _, n in found] == ["bass:*", "snare:*", "flute:nino"]
    keep = found[1][0]
    out = tracker.with_only(data, {keep})
    assert [out[off + 0x18] for off, _ in found] == [0, 128, 0]
    changed = [i for i, (a, b) in enumerate(zip(data, out)) if a != b]
    assert changed == [found[0][0] + 0x18, found[2][0] + 0x18] and len(out) == len(data)


def test_modules_that_are_not_it_in_instrument_mode_give_no_instruments():
    data = bytearray(it_module(["bass:*"]))
    assert tracker.instruments(b"Extended Module: x" + bytes(300)) == []
    struct.pack_into("<H", data, 0x2C, 0x01)  # sample mode
    assert tracker.instruments(bytes(data)) == []
