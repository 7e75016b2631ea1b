"""The Nagle remedy: TCP_NODELAY once, TCP_QUICKACK after every message read (Linux), or an
unsolicited pong where there is no TCP_QUICKACK; off with quick_ack=False."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from fake import FakeMattermost, click, run
from mattermost_socket_mode import nagle
from mattermost_socket_mode.connection import Connection

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TCP_QUICKACK is Linux's")


def tcp_pair():
    server = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    server.close()
    return client, peer


@linux
def test_after_read_arms_quickack_on_a_real_socket_and_prepare_sets_nodelay():
    client, peer = tcp_pair()
    try:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        nagle.prepare(client)
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        peer.sendall(b"x")
        client.recv(1)
        assert nagle.after_read(client) is True
        assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1
    finally:
        client.close()
        peer.close()


class Recorder:
    """A socket that records setsockopt (the real one's options are the kernel's to reset)."""

    def __init__(self):
        self.calls = []

    def setsockopt(self, level, option, value):
        self.calls.append((level, option, value))


def test_quickack_is_set_after_every_frame_the_app_reads(monkeypatch):
    calls = []
    real = nagle.after_read
    monkeypatch.setattr(nagle, "after_read", lambda sock: calls.append(sock) or real(sock))

    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app()
            app.action("approve")(lambda e: "ok")
            await app.start()  # hello, subscribed: two frames
            await mm.deliver("action", click(1))
            await mm.next("ack")
            assert len(calls) == 3
            assert all(c is app._conn.sock for c in calls)
            await app.stop()

    run(scenario())


class FakeSocket:
    """A websocket whose frames are given, recording the pongs sent."""

    def __init__(self, frames):
        self.frames = list(frames)
        self.pongs = 0
        self.transport = None

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self.frames:
            raise StopAsyncIteration
        return self.frames.pop(0)

    async def pong(self, data=b""):
        self.pongs += 1


def test_without_quickack_each_frame_is_followed_by_a_pong(monkeypatch):
    monkeypatch.setattr(nagle, "QUICKACK", None)

    async def read(quick_ack):
        ws = FakeSocket(["a", "b", "c"])
        conn = Connection(ws, "p", quick_ack=quick_ack)
        got = [f async for f in conn.frames()]
        return got, ws.pongs

    assert asyncio.run(read(True)) == (["a", "b", "c"], 3)
    assert asyncio.run(read(False)) == (["a", "b", "c"], 0)


@linux
def test_the_recorded_options_are_the_documented_ones():
    rec = Recorder()
    nagle.prepare(rec)
    assert nagle.after_read(rec)
    assert rec.calls == [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)]


def test_quick_ack_off_touches_nothing(monkeypatch):
    calls = []
    monkeypatch.setattr(nagle, "after_read", lambda sock: calls.append(sock) or True)
    monkeypatch.setattr(nagle, "prepare", lambda sock: calls.append(("prepare", sock)))

    async def scenario():
        async with FakeMattermost() as mm:
            app = mm.app(quick_ack=False)
            await app.start()
            assert calls == []
            await app.stop()

    run(scenario())
