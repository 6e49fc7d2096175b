"""`avatar stream --livelink`: Live Link Face packets checked by a loopback receiver written from the public layout."""

from __future__ import annotations

import csv
import socket
import struct
import threading
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from avatar.cli import app
from avatar.errors import InputError
from avatar.livelink_udp import STREAM_NAMES, encode_packet, parse_address, stream_track
from rigs.face.track import FaceTrack
from rigs.formats.export import export, read_track
from rigs.formats.livelink import livelink_angles

runner = CliRunner()

# Unreal's EARFaceBlendShape enum, the order of the values in a packet (as listed by think-biq/LLV and Unreal's
# AugmentedReality module): typed out here so the test does not share the encoder's name table.
EAR_FACE_BLEND_SHAPE = """
EyeBlinkLeft EyeLookDownLeft EyeLookInLeft EyeLookOutLeft EyeLookUpLeft EyeSquintLeft EyeWideLeft
EyeBlinkRight EyeLookDownRight EyeLookInRight EyeLookOutRight EyeLookUpRight EyeSquintRight EyeWideRight
JawForward JawLeft JawRight JawOpen MouthClose MouthFunnel MouthPucker MouthLeft MouthRight
MouthSmileLeft MouthSmileRight MouthFrownLeft MouthFrownRight MouthDimpleLeft MouthDimpleRight
MouthStretchLeft MouthStretchRight MouthRollLower MouthRollUpper MouthShrugLower MouthShrugUpper
MouthPressLeft MouthPressRight MouthLowerDownLeft MouthLowerDownRight MouthUpperUpLeft MouthUpperUpRight
BrowDownLeft BrowDownRight BrowInnerUp BrowOuterUpLeft BrowOuterUpRight CheekPuff CheekSquintLeft CheekSquintRight
NoseSneerLeft NoseSneerRight TongueOut
HeadYaw HeadPitch HeadRoll LeftEyeYaw LeftEyePitch LeftEyeRoll RightEyeYaw RightEyePitch RightEyeRoll
""".split()


def decode(packet: bytes) -> dict:
    """A Live Link Face packet (version 6) read field by field: network byte order throughout."""
    position = 0

    def take(fmt: str) -> tuple:
        nonlocal position
        values = struct.unpack_from(fmt, packet, position)
        position += struct.calcsize(fmt)
        return values

    def text() -> str:
        nonlocal position
        (length,) = take(">i")
        value = packet[position:position + length].decode("utf-8")
        position += length
        return value

    (version,) = take(">B")
    device, subject = text(), text()
    frame, sub_frame, numerator, denominator = take(">ifii")
    (count,) = take(">B")
    values = take(f">{count}f")
    assert position == len(packet), "bytes left over after the values"
    return {"version": version, "device": device, "subject": subject, "frame": frame, "sub_frame": sub_frame,
            "rate": (numerator, denominator), "count": count, "values": dict(zip(EAR_FACE_BLEND_SHAPE, values,
                                                                                 strict=True))}


class Receiver:
    """A UDP socket on 127.0.0.1 (free port) that collects datagrams on a thread, with their arrival times."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.packets: list[bytes] = []
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.packets.append(data)
            self.times.append(time.perf_counter())

    def wait(self, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while len(self.packets) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)  # let any extra packet arrive, so a count that is too high shows
        self._stop.set()
        self._thread.join()
        self.sock.close()
        return [decode(packet) for packet in self.packets]


@pytest.fixture()
def receiver():
    r = Receiver()
    yield r
    r._stop.set()
    r._thread.join()
    r.sock.close()


def random_track(n: int = 45, fps: float = 30.0, seed: int = 0) -> FaceTrack:
    rng = np.random.default_rng(seed)
    return FaceTrack(rng.random((n, 52)).astype(np.float32), fps, rng.normal(0, 0.2, (n, 3)),
                     rng.normal(0, 0.2, (n, 4)))


def test_stream_names_are_the_enum_order():
    assert list(STREAM_NAMES) == EAR_FACE_BLEND_SHAPE and len(STREAM_NAMES) == 61


def test_packet_byte_layout():
    values = np.arange(61, dtype=np.float32) / 100
    packet = encode_packet(values, 1234, 30.0, subject="Ava", device_id="dev")
    assert len(packet) == 1 + (4 + 3) + (4 + 3) + 16 + 1 + 61 * 4 == 276
    assert packet[0] == 6
    assert packet[1:8] == b"\x00\x00\x00\x03dev" and packet[8:15] == b"\x00\x00\x00\x03Ava"
    assert packet[15:19] == b"\x00\x00\x04\xd2"  # frame 1234, big-endian
    assert packet[19:23] == b"\x00\x00\x00\x00"  # sub-frame 0.0
    assert packet[23:31] == b"\x00\x00\x00\x1e\x00\x00\x00\x01"  # 30 / 1 fps
    assert packet[31] == 61
    assert packet[32:36] == struct.pack(">f", 0.0) and packet[-4:] == struct.pack(">f", np.float32(0.6))
    assert decode(encode_packet(values, 7, 29.97, "s", "d"))["rate"] == (2997, 100)
    # A UTF-8 name is counted in bytes, not characters.
    named = encode_packet(values, 0, 60.0, subject="Äva", device_id="d")
    assert decode(named)["subject"] == "Äva" and len(named) == 270 + 1 + 4


@pytest.mark.parametrize("file_name", ["face.csv", "face.json", "face.glb"])
def test_cli_streams_a_track_to_a_loopback_receiver(tmp_path, receiver, file_name):
    export(random_track(), ["csv", "json", "glb"], tmp_path)
    path = tmp_path / file_name
    track = read_track(path)  # what the file holds, at its own precision
    result = runner.invoke(app, ["stream", str(path), "--livelink", f"127.0.0.1:{receiver.port}", "--no-realtime",
                                 "--subject", "Ava Test", "--device-id", "dev-1"])
    assert result.exit_code == 0, result.output
    assert f"sent {track.n_frames} packets" in result.output
    frames = receiver.wait(track.n_frames)
    assert len(frames) == track.n_frames == (90 if file_name == "face.json" else 45)  # face.json is 60 fps
    assert {(f["version"], f["subject"], f["device"], f["count"], f["rate"], f["sub_frame"]) for f in frames} == {
        (6, "Ava Test", "dev-1", 61, (int(track.fps), 1), 0.0)}
    numbers = [f["frame"] for f in frames]
    assert numbers == list(range(numbers[0], numbers[0] + len(frames)))

    def curve(name: str) -> np.ndarray:
        return np.array([f["values"][name] for f in frames], np.float32)

    for name in EAR_FACE_BLEND_SHAPE[:52]:
        np.testing.assert_array_equal(curve(name), track[name], err_msg=name)
    # The app's angle convention (rigs.formats.livelink): the left-right mirror of ours, eye roll from the app's eye.
    for k, name in enumerate(EAR_FACE_BLEND_SHAPE[52:]):
        np.testing.assert_array_equal(curve(name), livelink_angles(track)[:, k], err_msg=name)
    np.testing.assert_allclose(curve("HeadYaw"), -track.head[:, 0], atol=1e-7)
    np.testing.assert_allclose(curve("HeadPitch"), track.head[:, 1], atol=1e-7)
    assert np.abs(curve("HeadYaw")).max() > 0.1 and np.abs(curve("RightEyePitch")).max() > 0.1  # not all zeros


def test_stream_carries_the_csv_columns_under_the_same_names(tmp_path, receiver):
    export(random_track(seed=3), ["csv"], tmp_path)
    with open(tmp_path / "face.csv", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    result = runner.invoke(app, ["stream", str(tmp_path / "face.csv"), "--livelink", f"127.0.0.1:{receiver.port}",
                                 "--no-realtime"])
    assert result.exit_code == 0, result.output
    frames = receiver.wait(len(rows))
    assert len(frames) == len(rows)
    assert sorted(header[2:]) == sorted(EAR_FACE_BLEND_SHAPE)
    for column, name in enumerate(header[2:], start=2):
        written = np.array([float(row[column]) for row in rows], np.float32)
        # Angles pass through the app's eye convention and back: equal to float32 rounding.
        np.testing.assert_allclose(np.array([f["values"][name] for f in frames], np.float32), written, atol=1e-6,
                                   rtol=0, err_msg=name)


def test_realtime_pacing_follows_the_track_fps(receiver):
    sent = stream_track(random_track(n=7), "127.0.0.1", receiver.port, realtime=True)
    frames = receiver.wait(7)
    assert sent == len(frames) == 7
    span = receiver.times[-1] - receiver.times[0]
    # 6 frame periods (0.2 s) apart; as-fast-as-possible would be about a millisecond. Loose bounds for a busy CPU.
    assert 0.12 <= span < 1.5, span


def test_loop_repeats_the_track_and_keeps_counting_frames(receiver):
    track = random_track(n=10)
    sent = stream_track(track, "127.0.0.1", receiver.port, realtime=False, loop=True, start_frame=100,
                        max_frames=25, subject="Loop")
    frames = receiver.wait(25)
    assert sent == len(frames) == 25
    assert [f["frame"] for f in frames] == list(range(100, 125))
    for k, f in enumerate(frames):
        assert f["values"]["JawOpen"] == np.float32(track["jawOpen"][k % 10])


def test_speech_is_animated_then_streamed(tmp_path, receiver, spoken_example):
    from avatar.frontend.audio import save_wav
    from tests.conftest import EXAMPLE_TEXT

    wav = tmp_path / "speech.wav"
    save_wav(spoken_example, wav)
    result = runner.invoke(app, ["stream", str(wav), "--transcript", EXAMPLE_TEXT, "--emotion", "happiness",
                                 "--livelink", f"127.0.0.1:{receiver.port}", "--no-realtime"])
    assert result.exit_code == 0, result.output
    expected = int(np.ceil(spoken_example.duration * 30 - 1e-9))
    frames = receiver.wait(expected)
    assert len(frames) == expected
    jaw = np.array([f["values"]["JawOpen"] for f in frames])
    smile = np.array([f["values"]["MouthSmileLeft"] for f in frames])
    assert jaw.max() > 0.2 and jaw.std() > 0.05  # it talks
    assert smile.mean() > 0.2  # and it is happy


@pytest.mark.parametrize(("text", "expected"), [
    ("10.0.0.5", ("10.0.0.5", 11111)), ("studio-pc.local:9000", ("studio-pc.local", 9000)),
    ("[::1]:11112", ("::1", 11112)), ("[fe80::1]", ("fe80::1", 11111)), (" 127.0.0.1:11111 ", ("127.0.0.1", 11111))])
def test_parse_address(text, expected):
    assert parse_address(text) == expected


@pytest.mark.parametrize(("address", "expected"), [
    ("127.0.0.1:notaport", "port 'notaport' is not a number"), ("127.0.0.1:", "the port after ':' is missing"),
    ("127.0.0.1:0", "outside 1-65535"), ("127.0.0.1:70000", "outside 1-65535"), (":11111", "the host is missing"),
    ("::1:11111", "needs brackets"), ("[::1:11111", "not closed")])
def test_bad_address_names_the_input_and_the_form(tmp_path, address, expected):
    export(random_track(), ["json"], tmp_path)
    result = runner.invoke(app, ["stream", str(tmp_path / "face.json"), "--livelink", address, "--no-realtime"])
    assert result.exit_code == 2
    assert expected in result.output and f"--livelink {address!r}" in result.output
    assert "expected HOST:PORT" in result.output and "Traceback" not in result.output
    with pytest.raises(InputError, match="expected HOST:PORT"):
        parse_address(address)


def test_unknown_host_is_a_clear_error(tmp_path, monkeypatch):
    def no_such_host(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    export(random_track(), ["json"], tmp_path)
    result = runner.invoke(app, ["stream", str(tmp_path / "face.json"), "--livelink", "unreal-box:11111"])
    assert result.exit_code == 2
    assert "cannot resolve host 'unreal-box' (Name or service not known)" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("args", "expected"), [
    (["{tmp}/missing.csv"], "input '{tmp}/missing.csv' does not exist"),
    (["{tmp}/body.bvh"], "is a body track (BVH)"),
    ([], "give one input"),
    (["{tmp}/face.json", "--text", "hello"], "give one input"),
    (["{tmp}/face.json", "--subject", ""], "--subject is empty"),
    (["{tmp}/face.json", "--device-id", "x" * 300], "--device-id is 300 bytes"),
    (["{tmp}/face.json", "--transcript", "hello"], "are for speech input"),
    (["{tmp}/short.csv"], "holds one frame"),
])
def test_bad_input_is_one_readable_line(tmp_path, receiver, args, expected):
    export(random_track(), ["json"], tmp_path)
    export(random_track(n=1), ["csv"], tmp_path / "short")
    (tmp_path / "short" / "face.csv").rename(tmp_path / "short.csv")
    (tmp_path / "body.bvh").write_text("HIERARCHY\n")
    args = [a.format(tmp=tmp_path) for a in args]
    result = runner.invoke(app, ["stream", *args, "--livelink", f"127.0.0.1:{receiver.port}", "--no-realtime"])
    assert result.exit_code == 2, result.output
    assert expected.format(tmp=tmp_path) in result.output and "Traceback" not in result.output
    assert receiver.wait(0, timeout=0.1) == []  # nothing was sent


def test_short_csv_streams_at_its_own_fps(tmp_path, receiver):
    export(random_track(n=10, fps=25.0), ["csv"], tmp_path)
    result = runner.invoke(app, ["stream", str(tmp_path / "face.csv"), "--no-realtime",
                                 "--livelink", f"127.0.0.1:{receiver.port}"])
    assert result.exit_code == 0, result.output
    frames = receiver.wait(10)
    assert len(frames) == 10 and frames[0]["rate"] == (25, 1)


def test_unreachable_send_is_a_clear_error():
    track = random_track(n=3)
    with pytest.raises(InputError, match="cannot send to"):
        # A broadcast address without SO_BROADCAST is refused by the kernel at sendto.
        stream_track(track, "255.255.255.255", 11111, realtime=False)


def test_long_names_are_refused():
    with pytest.raises(InputError, match="at most 255"):
        encode_packet(np.zeros(61), 0, 30.0, subject="s" * 256, device_id="d")


def test_stream_names_an_unknown_generator_before_any_work(tmp_path, receiver, spoken_example):
    from avatar.frontend.audio import save_wav

    wav = tmp_path / "speech.wav"
    save_wav(spoken_example, wav)
    result = runner.invoke(app, ["stream", str(wav), "--generator", "magic", "--livelink",
                                 f"127.0.0.1:{receiver.port}", "--no-realtime"])
    assert result.exit_code == 2 and "unknown generator 'magic'" in result.output and "Traceback" not in result.output
    assert receiver.wait(1, timeout=0.5) == []
