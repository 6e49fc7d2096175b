"""Live Link Face over UDP: stream a face track to Unreal as Epic's Live Link Face iPhone app does.

Unreal's "ARKit Face Support" plugin (the receiver behind the Live Link Face app) listens for UDP datagrams on port
11111 (``LiveLinkPublishingPort`` of ``/Script/AppleARKit.AppleARKitSettings`` in the engine config) and turns each
into one Live Link frame of 61 named curves for a subject. One datagram per frame, every field in network byte
order (big-endian), packed with no padding (Unreal's ``FNboSerializeToBuffer``):

    offset      size   type      field
    0           1      uint8     packet version: 6
    1           4      int32     device id length N, in bytes
    5           N      UTF-8     device id (no terminator); Unreal tells sources apart by it
    5+N         4      int32     subject name length M, in bytes
    9+N         M      UTF-8     subject name: the Live Link subject that appears in the editor
    9+N+M       4      int32     frame number            \\
    13+N+M      4      float32   sub-frame, in [0, 1)     |  FQualifiedFrameTime: the frame's time
    17+N+M      4      int32     frame rate numerator     |  is (frame + sub-frame) * denominator / numerator
    21+N+M      4      int32     frame rate denominator  /
    25+N+M      1      uint8     value count: 61
    26+N+M      244    float32   61 values in EARFaceBlendShape order (``STREAM_NAMES``)

so a packet is 270 + N + M bytes. The 61 values are the 52 ARKit shapes in ARKit's order (eyeBlinkLeft …
tongueOut, weights in [0, 1]), then HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll,
RightEyeYaw, RightEyePitch, RightEyeRoll. The angles are the Live Link CSV's (``rigs.formats.livelink``): radians
in the app's convention (yaw toward the character's right, pitch down, roll toward its left shoulder; the eyes' roll
follows from their yaw and pitch as in the app), so a streamed take and the ``face.csv`` of the same track carry the
same curve values under the same names. (The CSV lists JawRight before JawLeft and MouthRight before MouthLeft, as
the app's CSV does; in the packet the position is the enum value, so JawLeft comes first.)

Sources for the layout: the receiver and sender in Unreal's
``AppleARKitFaceSupport/Private/AppleARKitLiveLinkSource.cpp`` as quoted in public forks (version 5: version, device
id, subject, time, count, values in enum order, all through ``FNboSerializeToBuffer``, network byte order), a public
copy of the version-6 listener (the frame time became an ``FQualifiedFrameTime``), and two open-source senders used
with Unreal: think-biq/LLV (``gesicht.py``: version 6, field order, int32 lengths, the 61 names) and PyLiveLinkFace
(version 6; its README: tested with Unreal Engine 4.27). No Unreal editor received these packets during testing.
"""

from __future__ import annotations

import datetime
import socket
import struct
import time
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from avatar.errors import InputError
from rigs.face.arkit import BLENDSHAPES, LIVE_LINK_ANGLES
from rigs.face.track import FaceTrack
from rigs.formats.livelink import livelink_angles

PACKET_VERSION = 6
DEFAULT_PORT = 11111
# EARFaceBlendShape order: ARKit's 52 in PascalCase, then the head and eye angles.
STREAM_NAMES: tuple[str, ...] = tuple(name[0].upper() + name[1:] for name in BLENDSHAPES) + LIVE_LINK_ANGLES
N_VALUES = len(STREAM_NAMES)
# Unreal's receive buffer leaves 256 characters for each of the two names; longer packets arrive cut and are dropped.
MAX_NAME_BYTES = 255
ADDRESS_FORM = "HOST:PORT, e.g. 192.168.1.20:11111 or [::1]:11111 (the port defaults to 11111)"


def frame_values(track: FaceTrack) -> np.ndarray:
    """The (T, 61) float32 values a track streams, in ``STREAM_NAMES`` order."""
    return np.concatenate([track.weights, livelink_angles(track)], axis=1).astype(np.float32)


def frame_rate(fps: float) -> tuple[int, int]:
    """The frame rate as Unreal's numerator/denominator pair (29.97 -> 2997/100, 30 -> 30/1)."""
    rate = Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise InputError(f"frame rate {fps} is not positive; give a positive fps such as 30")
    return rate.numerator, rate.denominator


def check_name(value: str, what: str) -> bytes:
    """A subject name or device id as the UTF-8 bytes the packet carries; clear errors for unusable ones."""
    if not value or not value.strip():
        raise InputError(f"{what} is empty; give a name such as 'Avatar'")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(f"{what} {value!r} contains control characters; use printable text")
    encoded = value.encode("utf-8")
    if len(encoded) > MAX_NAME_BYTES:
        raise InputError(f"{what} is {len(encoded)} bytes of UTF-8; Unreal accepts at most {MAX_NAME_BYTES}")
    return encoded


def _header(subject: str, device_id: str) -> bytes:
    device = check_name(device_id, "device id")
    name = check_name(subject, "subject name")
    return struct.pack(">Bi", PACKET_VERSION, len(device)) + device + struct.pack(">i", len(name)) + name


def encode_packet(values: np.ndarray, frame_number: int, fps: float, subject: str, device_id: str,
                  sub_frame: float = 0.0) -> bytes:
    """One Live Link Face datagram: the 61 values of one frame, stamped with its frame number at fps."""
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if values.shape != (N_VALUES,):
        raise InputError(f"a Live Link frame holds {N_VALUES} values (52 shapes + 9 angles); got {values.size}")
    return _header(subject, device_id) + _stamp(frame_number, fps, sub_frame) + values.astype(">f4").tobytes()


def _stamp(frame_number: int, fps: float, sub_frame: float = 0.0) -> bytes:
    """A datagram's time (frame number, sub-frame, frame rate as a fraction) and its count of values."""
    numerator, denominator = frame_rate(fps)
    return struct.pack(">ifiiB", frame_number, sub_frame, numerator, denominator, N_VALUES)


def parse_address(text: str, option: str = "--livelink") -> tuple[str, int]:
    """(host, port) from HOST:PORT, [IPv6]:PORT or a bare HOST (port 11111); clear errors naming the option."""
    raw = text.strip()

    def bad(problem: str) -> InputError:
        return InputError(f"{option} {text!r}: {problem}; expected {ADDRESS_FORM}")

    if raw.startswith("["):
        host, bracket, rest = raw[1:].partition("]")
        if not bracket:
            raise bad("an IPv6 address opened with '[' is not closed with ']'")
        if rest and not rest.startswith(":"):
            raise bad(f"unexpected {rest!r} after the IPv6 address")
        port_text = rest[1:] if rest else None
    elif raw.count(":") > 1:
        raise bad("an IPv6 address needs brackets")
    else:
        host, colon, port_text = raw.partition(":")
        port_text = port_text if colon else None
    if not host:
        raise bad("the host is missing")
    if port_text is None:
        return host, DEFAULT_PORT
    if not port_text.isdigit():
        raise bad(f"port {port_text!r} is not a number" if port_text else "the port after ':' is missing")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise bad(f"port {port} is outside 1-65535")
    return host, port


def resolve(host: str, port: int, option: str = "--livelink") -> tuple[int, tuple]:
    """The socket family and address to send to; an unknown host is a clear error."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise InputError(f"{option} {host}:{port}: cannot resolve host {host!r} ({reason}); give the IP address or "
                         "name of the machine running Unreal, e.g. 192.168.1.20:11111") from None
    return family, address


def time_of_day_frame(fps: float) -> int:
    """The current local time of day as a frame number at fps, as the app stamps frames with the phone's clock."""
    now = datetime.datetime.now()
    seconds = (now - now.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    return int(seconds * fps)


def stream_track(track: FaceTrack, host: str, port: int = DEFAULT_PORT, *, subject: str = "Avatar",
                 device_id: str = "avatar-engine", realtime: bool = True, loop: bool = False,
                 start_frame: int | None = None, max_frames: int | None = None,
                 on_frame: Callable[[int], None] | None = None) -> int:
    """Send a face track to a Live Link Face receiver, one packet per frame; returns the number of packets sent.

    `realtime` paces the packets at the track's fps (else as fast as possible); `loop` repeats the track, frame
    numbers still counting up, until `max_frames` (or forever); `start_frame` defaults to the time of day.
    `on_frame(k)` is called after the k-th packet (from 1).
    """
    if track.n_frames == 0:
        raise InputError("the face track holds no frames; nothing to stream")
    header = _header(subject, device_id)
    payloads = [values.astype(">f4").tobytes() for values in frame_values(track)]
    total = max_frames if max_frames is not None else (None if loop else track.n_frames)
    frame = time_of_day_frame(track.fps) if start_frame is None else int(start_frame)
    family, address = resolve(host, port)
    period = 1.0 / track.fps
    sent = 0
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        start = time.perf_counter()
        while total is None or sent < total:
            if realtime:
                wait = start + sent * period - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                elif wait < -0.25:
                    start -= wait  # far behind (a stalled machine): pick up the clock rather than burst
            # Frame numbers are int32 on the wire: wrap rather than overflow on a very long loop.
            number = (frame + sent) % 2**31
            packet = header + _stamp(number, track.fps) + payloads[sent % track.n_frames]
            try:
                sock.sendto(packet, address)
            except OSError as error:
                raise InputError(f"cannot send to {host}:{port}: {error.strerror or error}; check the address and "
                                 "that this machine can reach it") from None
            sent += 1
            if on_frame is not None:
                on_frame(sent)
            if not loop and sent == track.n_frames:
                break
    return sent
