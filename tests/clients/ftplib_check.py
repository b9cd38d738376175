#!/usr/bin/env python3
"""Exercise an FTP server with Python's standard ftplib, as a real client would.

Usage: ftplib_check.py HOST PORT USER PASS [abort]

With "abort", only the ABOR checks run (a download aborted in band, then with
ftplib.abort()); without, everything else. The account must be able to read and write at
the root. Everything happens inside a fresh
working folder that is removed at the end. Each step prints what it checks; the first
failing check prints a clear message and the script exits 1.
"""

import ftplib
import hashlib
import io
import os
import random
import re
import socket
import sys
import traceback

STEP = ["start"]


def step(name):
    STEP[0] = name
    print(f"-- {name}", flush=True)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_code(reply, *codes):
    check(reply[:3] in codes, f"expected reply {'/'.join(codes)}, got {reply!r}")
    return reply


def expect_error(cls, code, func, *args, **kwargs):
    """func must raise ftplib error `cls` whose reply starts with `code`."""
    try:
        result = func(*args, **kwargs)
    except cls as e:
        check(str(e).startswith(code), f"expected {code}, got {e}")
        return str(e)
    raise AssertionError(f"expected a {code} error, the call returned {result!r}")


def connect(host, port, user, password):
    ftp = ftplib.FTP(timeout=20)
    ftp.encoding = "utf-8"
    welcome = ftp.connect(host, port)
    check(welcome.startswith("220"), f"banner: {welcome!r}")
    reply = ftp.login(user, password)
    check(reply.startswith("230"), f"login: {reply!r}")
    return ftp


def abort_checks(ftp):
    """ABOR during a download, first sent in band, then as ftplib.abort() sends it."""
    step("abort: upload a 16 MiB file")
    big = random.Random(2).randbytes(1 << 20) * 16
    ftp.storbinary("STOR big.bin", io.BytesIO(big), blocksize=1 << 16)
    ftp.voidcmd("TYPE I")
    check(ftp.size("big.bin") == len(big), "big.bin size")

    # After ABOR the server sends two replies: the transfer's own (426 aborted, or 226 if
    # it had already finished) and then the ABOR reply (225/226).
    step("abort mid-retrieve, ABOR sent in band (putcmd)")
    conn = ftp.transfercmd("RETR big.bin")
    check(len(conn.recv(65536)) > 0, "no data before ABOR")
    ftp.putcmd("ABOR")
    first = ftp.getmultiline()
    expect_code(first, "426", "226")
    second = ftp.getmultiline()
    expect_code(second, "225", "226")
    conn.close()
    print(f"   replies: {first!r}, {second!r}")
    expect_code(ftp.sendcmd("NOOP"), "200")

    step("abort mid-retrieve with ftplib.abort() (ABOR as urgent data, MSG_OOB)")
    conn = ftp.transfercmd("RETR big.bin")
    check(len(conn.recv(65536)) > 0, "no data before ABOR")
    conn.close()
    # ftplib.abort() sends b"ABOR\r\n" with MSG_OOB: TCP marks the last byte (the LF) as
    # urgent, and a server that does not set SO_OOBINLINE never sees it in the stream, so
    # it reads "ABOR\r" and waits for the end of the line.
    first = ftp.abort()
    expect_code(first, "426", "225", "226")
    try:
        second = ftp.getmultiline()
    except socket.timeout:
        raise AssertionError(
            f"after {first!r}, no reply to ABOR within the timeout: the server did not see "
            "the end of the ABOR line (ftplib sends 'ABOR\\r\\n' with MSG_OOB, so the LF is "
            "TCP urgent data, removed from the stream unless the server sets SO_OOBINLINE)"
        ) from None
    expect_code(second, "225", "226")
    print(f"   replies: {first!r}, {second!r}")
    expect_code(ftp.sendcmd("NOOP"), "200")
    got = bytearray()
    ftp.retrbinary("RETR big.bin", got.extend)
    check(bytes(got) == big, "RETR after ABOR returned different bytes")
    ftp.delete("big.bin")


def main():
    if len(sys.argv) not in (5, 6) or sys.argv[5:] not in ([], ["abort"]):
        print(__doc__, file=sys.stderr)
        return 2
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if sys.argv[5:] == ["abort"]:
        ftp = connect(host, port, user, password)
        abort_checks(ftp)
        expect_code(ftp.quit(), "221")
        print("ftplib_check: all checks passed")
        return 0

    step("connect and login")
    ftp = connect(host, port, user, password)

    step("SYST / NOOP / FEAT / HELP / SITE HELP / STAT / OPTS UTF8 ON / CLNT / ALLO")
    expect_code(ftp.sendcmd("SYST"), "215")
    expect_code(ftp.sendcmd("NOOP"), "200")
    feat = expect_code(ftp.sendcmd("FEAT"), "211")
    for wanted in ("MDTM", "SIZE", "MLST", "UTF8", "EPSV", "REST STREAM"):
        check(
            re.search(rf"^\s{re.escape(wanted)}", feat, re.M),
            f"FEAT does not list {wanted}: {feat!r}",
        )
    expect_code(ftp.sendcmd("HELP"), "214")
    expect_code(ftp.sendcmd("SITE HELP"), "214")
    expect_code(ftp.sendcmd("STAT"), "211")
    expect_code(ftp.sendcmd("OPTS UTF8 ON"), "200")
    expect_code(ftp.sendcmd("CLNT ftplib-check/1.0"), "200")
    expect_code(ftp.sendcmd("ALLO 1024"), "200", "202")
    expect_error(ftplib.error_perm, "5", ftp.sendcmd, "XYZZY nothing")

    step("pwd / mkd / cwd into a fresh working folder")
    check(ftp.pwd() == "/", f"initial pwd is {ftp.pwd()!r}, expected '/'")
    work = f"ftplib-{os.getpid()}-{random.randrange(1 << 30)}"
    created = ftp.mkd(work)
    check(created.rstrip("/").endswith(work), f"MKD returned {created!r}")
    ftp.cwd(work)
    check(ftp.pwd() == f"/{work}", f"pwd after cwd is {ftp.pwd()!r}")
    expect_error(ftplib.error_perm, "550", ftp.cwd, "no-such-folder")

    step("storbinary / retrbinary / size / binary round trip")
    payload = random.Random(1).randbytes(300_000)
    expect_code(ftp.storbinary("STOR data.bin", io.BytesIO(payload)), "226", "250")
    got = bytearray()
    expect_code(ftp.retrbinary("RETR data.bin", got.extend), "226", "250")
    check(bytes(got) == payload, "RETR returned different bytes than STOR sent")
    ftp.voidcmd("TYPE I")
    check(ftp.size("data.bin") == len(payload), f"SIZE: {ftp.size('data.bin')}")

    step("retrbinary with rest (REST + RETR)")
    tail = bytearray()
    ftp.retrbinary("RETR data.bin", tail.extend, rest=250_000)
    check(bytes(tail) == payload[250_000:], "RETR after REST 250000 returned the wrong bytes")

    step("storlines / retrlines in ASCII mode")
    text = "first line\nsecond line\n\nlast line with ünïcödé\n"
    ftp.storlines("STOR text.txt", io.BytesIO(text.encode("utf-8")))
    lines = []
    ftp.retrlines("RETR text.txt", lines.append)
    check(lines == text.split("\n")[:-1], f"retrlines: {lines!r}")
    # Stored with local (LF) line ends: a binary download shows no CR.
    raw = bytearray()
    ftp.retrbinary("RETR text.txt", raw.extend)
    check(bytes(raw) == text.encode("utf-8"), f"ASCII upload stored as {bytes(raw)!r}")

    step("MDTM / MFMT")
    expect_code(ftp.sendcmd("MFMT 20200102030405 data.bin"), "213")
    mdtm = expect_code(ftp.sendcmd("MDTM data.bin"), "213")
    check(mdtm.split()[1].startswith("20200102030405"), f"MDTM after MFMT: {mdtm!r}")

    step("rename (RNFR/RNTO), refused onto an existing file")
    ftp.rename("text.txt", "renamed.txt")
    expect_error(ftplib.error_perm, "550", ftp.size, "text.txt")
    ftp.storbinary("STOR other.bin", io.BytesIO(b"other"))
    expect_error(ftplib.error_perm, "5", ftp.rename, "other.bin", "renamed.txt")

    step("nlst")
    names = sorted(os.path.basename(n) for n in ftp.nlst())
    check(names == ["data.bin", "other.bin", "renamed.txt"], f"NLST: {names!r}")

    step("mlsd (facts)")
    ftp.mkd("sub dir")
    ftp.storbinary("STOR sub dir/ファイル.txt", io.BytesIO(b"utf-8 name"))
    facts = dict(ftp.mlsd(facts=["type", "size", "modify"]))
    for name in ("data.bin", "other.bin", "renamed.txt", "sub dir"):
        check(name in facts, f"MLSD lacks {name!r}: {sorted(facts)}")
    check(facts["data.bin"].get("type") == "file", f"MLSD data.bin: {facts['data.bin']}")
    check(facts["data.bin"].get("size") == str(len(payload)), f"MLSD size: {facts['data.bin']}")
    check(
        facts["data.bin"].get("modify", "").startswith("20200102030405"),
        f"MLSD modify after MFMT: {facts['data.bin']}",
    )
    check(facts["sub dir"].get("type") == "dir", f"MLSD sub dir: {facts['sub dir']}")
    inner = dict(ftp.mlsd("sub dir"))
    check("ファイル.txt" in inner, f"MLSD of sub dir: {sorted(inner)}")
    check(inner["ファイル.txt"].get("size") == "10", f"MLSD UTF-8 file: {inner}")

    step("dir (LIST)")
    listing = []
    ftp.dir(listing.append)
    joined = "\n".join(listing)
    for name in ("data.bin", "other.bin", "renamed.txt", "sub dir"):
        check(name in joined, f"LIST lacks {name!r}:\n{joined}")

    step("active mode (PORT) transfers and listing")
    ftp.set_pasv(False)
    got = bytearray()
    ftp.retrbinary("RETR data.bin", got.extend)
    check(bytes(got) == payload, "active-mode RETR returned different bytes")
    ftp.storbinary("STOR active.bin", io.BytesIO(payload[:12345]))
    check(ftp.size("active.bin") == 12345, "active-mode STOR size")
    check("active.bin" in ftp.nlst(), "active-mode NLST")
    ftp.set_pasv(True)

    step("delete / rmd, and clean-up")
    for name in ("data.bin", "other.bin", "renamed.txt", "active.bin"):
        ftp.delete(name)
    expect_error(ftplib.error_perm, "550", ftp.delete, "data.bin")
    ftp.delete("sub dir/ファイル.txt")
    ftp.rmd("sub dir")
    ftp.cwd("..")
    check(ftp.pwd() == "/", f"pwd after cwd .. is {ftp.pwd()!r}")
    ftp.rmd(work)
    check(work not in ftp.nlst(), "working folder still listed after RMD")

    step("quit")
    expect_code(ftp.quit(), "221")

    step("a second connection: bad password is refused with 530")
    other = ftplib.FTP(timeout=20)
    other.connect(host, port)
    expect_error(ftplib.error_perm, "530", other.login, user, password + "-wrong")
    other.close()

    print("ftplib_check: all checks passed")
    return 0


if __name__ == "__main__":
    try:
        status = main()
    except (AssertionError, OSError) + ftplib.all_errors as e:
        print(
            f"ftplib_check: FAILED at step '{STEP[0]}': {type(e).__name__}: {e}",
            file=sys.stderr,
        )
        traceback.print_exc()
        status = 1
    sys.exit(status)
