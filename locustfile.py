"""Load test of the platform's public API (SPEC.md sections 2 and 5).

Each simulated user registers and logs in once, creates a profile, befriends
other simulated users, posts, reads its feed (and opens the live feed), and
looks others up by id: every route of SPEC.md section 2.
Dynamic URLs are grouped under their route template; an intended 429 (the
login limit) counts as success. Every response's shape is checked. When a
simulated user stops, a share of them (--delete-share, default 0.1) deletes
its account (DELETE /api/account); a 404 or 401 caused by such a deletion
(looking up a deleted user, say) is expected, not a failure.

    locust -f locustfile.py                                   # web UI, host https://localhost
    locust -f locustfile.py --headless -u 20 -r 5 -t 1m       # headless
    locust -f locustfile.py --ca-cert caddy-root.crt          # trust Caddy's internal CA
    locust -f locustfile.py --insecure                        # or skip TLS verification

Exit code 1 when the share of failed requests exceeds --max-fail-ratio
(default 0: any failure fails the run).
"""

import random
import threading
import uuid

import urllib3
from locust import HttpUser, between, events, task

# UUIDs of the simulated users that have a profile: candidates for friendship.
_known_users = []
_known_lock = threading.Lock()
# UUIDs of the simulated users that deleted their account.
_deleted_users = set()

UUID_KEYS = ("uuid", "author_uuid")


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--ca-cert", default="", env_var="LOCUST_CA_CERT",
                        help="PEM file of Caddy's root CA to trust (see README: export the root CA)")
    parser.add_argument("--insecure", action="store_true", default=False, env_var="LOCUST_INSECURE",
                        help="skip TLS certificate verification")
    parser.add_argument("--delete-share", type=float, default=0.1, env_var="LOCUST_DELETE_SHARE",
                        help="share of simulated users that delete their account when they stop")
    parser.add_argument("--max-fail-ratio", type=float, default=0.0, env_var="LOCUST_MAX_FAIL_RATIO",
                        help="exit with code 1 when more than this share of requests failed")


@events.quitting.add_listener
def _enforce_threshold(environment, **_kwargs):
    stats = environment.stats.total
    ratio = stats.fail_ratio
    limit = environment.parsed_options.max_fail_ratio if environment.parsed_options else 0.0
    if stats.num_requests == 0 or ratio > limit:
        print(f"FAILED: {stats.num_failures} of {stats.num_requests} requests failed (ratio {ratio:.4f} > {limit})")
        environment.process_exit_code = 1
    else:
        print(f"OK: {stats.num_failures} of {stats.num_requests} requests failed (ratio {ratio:.4f} <= {limit})")


def _is_uuid(value):
    try:
        uuid.UUID(str(value))
        return True
    except ValueError:
        return False


class PlatformUser(HttpUser):
    host = "https://localhost"
    wait_time = between(0.5, 2)

    def on_start(self):
        opts = self.environment.parsed_options
        if opts and opts.insecure:
            self.client.verify = False
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        elif opts and opts.ca_cert:
            self.client.verify = opts.ca_cert
        self.email = f"locust-{uuid.uuid4()}@example.test"
        self.password = uuid.uuid4().hex
        self.user_id = None
        self.friends = set()
        self._register()
        self._login()
        self._save_profile()
        with _known_lock:
            _known_users.append(self.user_id)

    # --- helpers ---------------------------------------------------------

    def _headers(self):
        return {"Authorization": f"Bearer {self.token}"}

    def _json(self, response, expect_type):
        try:
            body = response.json()
        except ValueError:
            response.failure(f"not JSON: {response.text[:100]!r}")
            return None
        if not isinstance(body, expect_type):
            response.failure(f"expected {expect_type.__name__}, got {body!r:.100}")
            return None
        return body

    def _check_keys(self, response, obj, keys):
        if not isinstance(obj, dict) or set(obj) != set(keys):
            response.failure(f"expected keys {sorted(keys)}, got {obj!r:.200}")
            return False
        for key in UUID_KEYS:
            if key in obj and not _is_uuid(obj[key]):
                response.failure(f"{key} is not a UUID: {obj[key]!r}")
                return False
        return True

    def _other_user(self):
        with _known_lock:
            others = [u for u in _known_users if u != self.user_id]
        return random.choice(others) if others else None

    @staticmethod
    def _deleted(user_id):
        with _known_lock:
            return user_id in _deleted_users

    def on_stop(self):
        opts = self.environment.parsed_options
        share = opts.delete_share if opts else 0.1
        if self.user_id is None or random.random() >= share:
            return
        with _known_lock:
            if self.user_id in _known_users:
                _known_users.remove(self.user_id)
            _deleted_users.add(self.user_id)
        with self.client.delete("/api/account", json={"password": self.password}, headers=self._headers(),
                                name="/api/account", catch_response=True) as r:
            if r.status_code == 202:
                body = self._json(r, dict)
                if body is not None and body.get("uuid") != self.user_id:
                    r.failure(f"deleted another account: {body!r:.100}")
            elif r.status_code == 429 and r.headers.get("Retry-After", "").isdigit():
                r.success()  # the per-user rate limit: intended
            else:
                r.failure(f"delete account: {r.status_code} {r.text[:100]}")

    # --- auth ------------------------------------------------------------

    def _register(self):
        with self.client.post("/api/auth/register", json={"email": self.email, "password": self.password},
                              name="/api/auth/register", catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"register: {r.status_code} {r.text[:100]}")
                return
            body = self._json(r, dict)
            if body and self._check_keys(r, body, ("uuid", "email")):
                self.user_id = body["uuid"]
                if body["email"] != self.email.lower():
                    r.failure(f"email not normalised: {body['email']}")

    def _login(self):
        with self.client.post("/api/auth/login", json={"email": self.email.upper(), "password": self.password},
                              name="/api/auth/login", catch_response=True) as r:
            if r.status_code == 429:
                # The 10-tokens-per-hour limit is intended behaviour.
                if not r.headers.get("Retry-After", "").isdigit():
                    r.failure("429 without Retry-After")
                else:
                    r.success()
                return
            if r.status_code != 200:
                r.failure(f"login: {r.status_code} {r.text[:100]}")
                return
            body = self._json(r, dict)
            if body and self._check_keys(r, body, ("access_token", "token_type", "expires_in")):
                self.token = body["access_token"]

    def _save_profile(self):
        profile = {"username": f"user-{self.user_id[:8]}", "bio": random.choice(["hello", "hiking", "coffee", ""])}
        with self.client.post("/api/profile/me", json=profile, headers=self._headers(),
                              name="/api/profile/me", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"save profile: {r.status_code} {r.text[:100]}")
                return
            body = self._json(r, dict)
            if body and self._check_keys(r, body, ("uuid", "username", "bio")) and body["uuid"] != self.user_id:
                r.failure("profile uuid is not the caller's")

    # --- tasks -----------------------------------------------------------

    @task(3)
    def own_profile(self):
        with self.client.get("/api/profile/me", headers=self._headers(), name="/api/profile/me",
                             catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:100]}")
                return
            body = self._json(r, dict)
            if body:
                self._check_keys(r, body, ("uuid", "username", "bio"))

    @task(1)
    def update_profile(self):
        self._save_profile()

    @task(3)
    def profile_by_id(self):
        other = self._other_user()
        if other is None:
            return
        with self.client.get(f"/api/profile/{other}", headers=self._headers(), name="/api/profile/{userId}",
                             catch_response=True) as r:
            if r.status_code == 404 and self._deleted(other):
                r.success()  # deleted meanwhile
                return
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:100]}")
                return
            body = self._json(r, dict)
            if body and self._check_keys(r, body, ("uuid", "username", "bio")) and body["uuid"] != other:
                r.failure("profile of someone else")

    @task(3)
    def list_friends(self):
        with self.client.get("/api/friends", headers=self._headers(), name="/api/friends",
                             catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:100]}")
                return
            body = self._json(r, list)
            if body is not None and not all(_is_uuid(f) for f in body):
                r.failure(f"friends are not UUIDs: {body!r:.100}")

    @task(2)
    def add_friend(self):
        other = self._other_user()
        if other is None:
            return
        with self.client.post("/api/friends", json={"friend_uuid": other}, headers=self._headers(),
                              name="/api/friends", catch_response=True) as r:
            if r.status_code == 404 and self._deleted(other):
                r.success()  # deleted meanwhile
                return
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:100]}")
                return
            body = self._json(r, list)
            if body is not None:
                if other not in body and not self._deleted(other):
                    r.failure("added friend missing from the list")
                self.friends.add(other)

    @task(1)
    def remove_friend(self):
        if len(self.friends) < 3:
            return
        friend = self.friends.pop()
        with self.client.delete("/api/friends", json={"friend_uuid": friend}, headers=self._headers(),
                                name="/api/friends", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:100]}")
                return
            body = self._json(r, list)
            if body is not None and friend in body:
                r.failure("removed friend still listed")

    @task(4)
    def create_post(self):
        content = random.choice(["Looking for the new world...", "I came dancing across the water", "Hello!"])
        # Both routes create a post: /api/posts, and /api/posts/me as clients of
        # the original statement use it (SPEC.md section 2).
        path = random.choice(["/api/posts", "/api/posts", "/api/posts/me"])
        with self.client.post(path, json={"content": f"{content} #{random.randint(1, 10**6)}"},
                              headers=self._headers(), name=path, catch_response=True) as r:
            if r.status_code != 201:
                r.failure(f"{r.status_code} {r.text[:100]}")
                return
            body = self._json(r, dict)
            if body and self._check_keys(r, body, ("author_uuid", "content", "timestamp")) \
                    and body["author_uuid"] != self.user_id:
                r.failure("post author is not the caller")

    def _check_posts(self, r, author):
        if r.status_code != 200:
            r.failure(f"{r.status_code} {r.text[:100]}")
            return
        posts = self._json(r, list)
        if posts is None:
            return
        for p in posts:
            if not self._check_keys(r, p, ("author_uuid", "content", "timestamp")):
                return
            if author and p["author_uuid"] != author:
                r.failure("post of another author")
                return
        stamps = [p["timestamp"] for p in posts]
        if stamps != sorted(stamps, reverse=True):
            r.failure("posts are not newest first")

    @task(2)
    def my_posts(self):
        with self.client.get("/api/posts", headers=self._headers(), name="/api/posts", catch_response=True) as r:
            self._check_posts(r, self.user_id)
        with self.client.get("/api/posts/me?limit=5", headers=self._headers(), name="/api/posts/me",
                             catch_response=True) as r:
            self._check_posts(r, self.user_id)

    @task(3)
    def posts_by_id(self):
        other = self._other_user()
        if other is None:
            return
        with self.client.get(f"/api/posts/{other}", headers=self._headers(), name="/api/posts/{userId}",
                             catch_response=True) as r:
            self._check_posts(r, other)

    @task(5)
    def feed(self):
        with self.client.get("/api/feed", headers=self._headers(), name="/api/feed", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code} {r.text[:100]}")
                return
            items = self._json(r, list)
            if items is None:
                return
            if len(items) > 10:
                r.failure(f"{len(items)} items in the feed")
            for item in items:
                if not self._check_keys(r, item, ("username", "author_uuid", "content", "timestamp")):
                    return
                if item["author_uuid"] == self.user_id:
                    r.failure("own post in the feed")
                    return

    @task(1)
    def feed_stream(self):
        """Opens the live feed (Server-Sent Events), reads its first line and
        closes it: a user of the web client does this on every visit."""
        with self.client.get("/api/feed/stream", headers={**self._headers(), "Accept": "text/event-stream"},
                             name="/api/feed/stream", stream=True, timeout=10, catch_response=True) as r:
            try:
                if r.status_code != 200:
                    r.failure(f"{r.status_code} {r.text[:100]}")
                    return
                ctype = r.headers.get("Content-Type", "")
                if not ctype.startswith("text/event-stream"):
                    r.failure(f"Content-Type {ctype!r}")
                    return
                first = next(r.iter_lines(), b"")
                if not first.startswith(b":") and not first.startswith(b"event:") and not first.startswith(b"id:"):
                    r.failure(f"not an event stream: {first[:80]!r}")
            finally:
                r.close()

    @task(1)
    def login_again(self):
        self._login()
