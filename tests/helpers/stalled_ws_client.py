"""A WebSocket client that stops reading: opens a run's stream with a 4 KiB receive buffer (set
before connecting, so the kernel cannot grow it), reads the upgrade answer, then reads nothing more.
Node cannot shrink a TCP socket's buffers, and the kernel's default ones on loopback would hold
megabytes before the server notices anything. Prints "upgraded" (or the refusal) and then sleeps.
Usage: python3 stalled_ws_client.py HOST PORT PATH API_KEY
"""
import base64
import os
import socket
import sys
import time

host, port, path, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
conn.connect((host, port))
nonce = base64.b64encode(os.urandom(16)).decode()
conn.sendall(
    (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {key}\r\n\r\n"
    ).encode()
)
answer = b""
while b"\r\n\r\n" not in answer:
    chunk = conn.recv(1)
    if not chunk:
        break
    answer += chunk
print("upgraded" if answer.startswith(b"HTTP/1.1 101") else answer.split(b"\r\n")[0].decode(), flush=True)
time.sleep(600)
