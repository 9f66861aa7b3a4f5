"""Helpers for the S3 tests: the test server (Ceph's radosgw, started by
scripts/services.sh s3-start; VIDX_TEST_S3_ENDPOINT and the AWS_* keys it prints), a
small client for setting up and checking buckets (curl's own SigV4 signer, so the
tests do not trust vidx's signing to check vidx), and a fault proxy on loopback.

The proxy forwards each HTTP request to the real server unchanged (the Host header
too: the signature covers it) and can answer 503 SlowDown instead, or cut a GET's
body part way and close the connection. It counts requests and the body bytes of
GET answers it passed on, so the tests can see how much of an object was read.
"""
import http.client
import os
import socket
import subprocess
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import common
from common import Skip, fail


def server():
    """The endpoint (and the environment vidx needs); fails without the server."""
    ep = os.environ.get('VIDX_TEST_S3_ENDPOINT')
    if ep and os.environ.get('AWS_ACCESS_KEY_ID') and os.environ.get('AWS_SECRET_ACCESS_KEY'):
        return ep
    if os.environ.get('VIDX_TEST_NO_SERVICES') == '1':
        raise Skip('VIDX_TEST_NO_SERVICES=1: no S3 server')
    fail('VIDX_TEST_S3_ENDPOINT is not set: start the S3 server '
         '(eval "$(scripts/services.sh s3-start)"), or set VIDX_TEST_NO_SERVICES=1')


def env(endpoint=None, **extra):
    """The environment for a vidx process talking to endpoint (default: the server)."""
    e = dict(os.environ)
    e['AWS_ENDPOINT_URL'] = endpoint or server()
    e.pop('AWS_PROFILE', None)
    e.update({k: str(v) for k, v in extra.items()})
    return e


def vidx(args, endpoint=None, timeout=120, **extra):
    common.require_vidx()
    return common.run([common.vidx_bin()] + [str(a) for a in args], timeout=timeout,
                      env=env(endpoint, **extra))


def quote(key):
    return urllib.parse.quote(key, safe='/~')


def curl(method, path, data=None, query='', endpoint=None, out=None):
    """One signed request with curl; returns (status, body bytes)."""
    ep = endpoint or server()
    url = ep + '/' + path + (('?' + query) if query else '')
    cmd = ['curl', '-s', '-m', '60', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user',
           os.environ['AWS_ACCESS_KEY_ID'] + ':' + os.environ['AWS_SECRET_ACCESS_KEY'],
           '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '-X', method,
           '-o', out or '-', '-w', '\n%{http_code}']
    if data is not None:
        cmd += ['--data-binary', '@' + str(data) if not isinstance(data, bytes) else '@-']
    cmd.append(url)
    r = subprocess.run(cmd, input=data if isinstance(data, bytes) else None,
                       capture_output=True, timeout=120)
    body, _, code = r.stdout.rpartition(b'\n')
    return int(code or 0), body


def bucket(tag):
    """A new bucket for one test."""
    name = ('vidx-%s-%s' % (tag, uuid.uuid4().hex[:8])).lower().replace('_', '-')[:63]
    code, body = curl('PUT', name)
    if code != 200:
        fail('creating bucket %s: HTTP %d %s' % (name, code, body[:300]))
    return name


def put(bkt, key, src):
    """Uploads a local file (or bytes) as bkt/key."""
    code, body = curl('PUT', bkt + '/' + quote(key), data=src)
    if code != 200:
        fail('uploading %s/%s: HTTP %d %s' % (bkt, key, code, body[:300]))


def get(bkt, key):
    code, body = curl('GET', bkt + '/' + quote(key))
    return body if code == 200 else None


def keys(bkt, prefix=''):
    """Every key under prefix (ListObjectsV2 by curl, all pages)."""
    import xml.etree.ElementTree as ET
    out, token = [], None
    while True:
        q = {'list-type': '2', 'prefix': prefix}
        if token:
            q['continuation-token'] = token
        query = '&'.join('%s=%s' % (k, urllib.parse.quote(v, safe='~'))
                         for k, v in sorted(q.items()))
        code, body = curl('GET', bkt, query=query)
        if code != 200:
            fail('listing %s: HTTP %d %s' % (bkt, code, body[:300]))
        root = ET.fromstring(body)
        ns = root.tag.split('}')[0] + '}' if root.tag.startswith('{') else ''
        out += [c.find(ns + 'Key').text for c in root.findall(ns + 'Contents')]
        if (root.findtext(ns + 'IsTruncated') or 'false') != 'true':
            return out
        token = root.findtext(ns + 'NextContinuationToken')


def uploads(bkt):
    """Multipart uploads in progress: [(key, upload id)]."""
    import xml.etree.ElementTree as ET
    code, body = curl('GET', bkt, query='uploads=')
    if code != 200:
        fail('listing uploads of %s: HTTP %d %s' % (bkt, code, body[:300]))
    root = ET.fromstring(body)
    ns = root.tag.split('}')[0] + '}' if root.tag.startswith('{') else ''
    return [(u.findtext(ns + 'Key'), u.findtext(ns + 'UploadId'))
            for u in root.findall(ns + 'Upload')]


class FaultProxy:
    """An HTTP proxy on 127.0.0.1 in front of the server; see the module's doc.

    fail_503: that many requests (the first ones) answered 503 SlowDown;
    cut_gets: that many GET answers with a body cut after cut_after bytes.
    """

    def __init__(self, fail_503=0, cut_gets=0, cut_after=1000, hold_parts=False):
        up = urllib.parse.urlparse(server())
        self.up = (up.hostname, up.port)
        self.fail_503, self.cut_gets, self.cut_after = fail_503, cut_gets, cut_after
        # hold_parts: a multipart part upload sets part_held and waits for release (the
        # tests kill vidx while a part is in flight), then goes on to the server
        self.hold_parts = hold_parts
        self.part_held, self.release = threading.Event(), threading.Event()
        self.lock = threading.Lock()
        self.requests = []  # (method, path, status)
        self.get_bytes = {}  # path (no query) -> body bytes of GET answers passed on
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *a):
                pass

            def handle_one(self):
                n = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(n) if n else b''
                with proxy.lock:
                    answer_503 = proxy.fail_503 > 0
                    if answer_503:
                        proxy.fail_503 -= 1
                    cut = self.command == 'GET' and proxy.cut_gets > 0 and '?' not in self.path
                    if cut:
                        proxy.cut_gets -= 1
                if proxy.hold_parts and self.command == 'PUT' and 'partNumber=' in self.path:
                    proxy.part_held.set()
                    proxy.release.wait(120)
                if answer_503:
                    msg = b'<?xml version="1.0"?><Error><Code>SlowDown</Code></Error>'
                    self.send_response(503)
                    self.send_header('Content-Length', str(len(msg)))
                    self.end_headers()
                    if self.command != 'HEAD':
                        self.wfile.write(msg)
                    proxy._note(self.command, self.path, 503, 0)
                    return
                conn = http.client.HTTPConnection(*proxy.up, timeout=60)
                conn.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in ('connection', 'content-length'):
                        conn.putheader(k, v)
                conn.putheader('Content-Length', str(len(body)))
                conn.endheaders(body)
                resp = conn.getresponse()
                status = resp.status
                data = resp.read()
                headers = [(k, v) for k, v in resp.getheaders()
                           if k.lower() not in ('connection', 'transfer-encoding',
                                                'content-length')]
                if self.command == 'HEAD':
                    length = resp.getheader('Content-Length')
                    headers.append(('Content-Length', length or '0'))
                else:
                    headers.append(('Content-Length', str(len(data))))
                conn.close()
                self.send_response_only(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                if cut and status // 100 == 2:
                    self.wfile.write(data[:proxy.cut_after])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    proxy._note(self.command, self.path, -status, min(len(data), proxy.cut_after))
                    return
                self.wfile.write(data)
                proxy._note(self.command, self.path, status, len(data))

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        quiet = self.httpd.handle_error

        def handle_error(request, address):  # a client killed mid-request: not a proxy error
            if not isinstance(sys.exc_info()[1], ConnectionError):
                quiet(request, address)
        self.httpd.handle_error = handle_error
        self.endpoint = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _note(self, method, path, status, nbytes):
        with self.lock:
            self.requests.append((method, path, status))
            if method == 'GET' and '?' not in path:
                self.get_bytes[path] = self.get_bytes.get(path, 0) + nbytes

    def count(self, method=None, status=None):
        with self.lock:
            return sum(1 for m, _, s in self.requests
                       if (method is None or m == method) and (status is None or s == status))

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.release.set()
        self.close()
