#
# Varnish 7 in front of `liveblog serve`: the reference deployment (docs/cdn.md).
#
# Render it first: replace __LIVEBLOG_HOST__ and __LIVEBLOG_PORT__ with where liveblog
# listens, e.g.
#   sed -e s/__LIVEBLOG_HOST__/127.0.0.1/ -e s/__LIVEBLOG_PORT__/8000/ liveblog.vcl > /etc/varnish/liveblog.vcl
#
# What it does:
# - caches readers' GETs for as long as liveblog's `s-maxage` says (a few seconds for the
#   present, an hour for the past), serves stale content for `stale-while-revalidate` while
#   it asks again, and for `stale-if-error` when liveblog is down (grace);
# - never caches anything that is not `public`, and passes every request with a token
#   (`Authorization`) or a cookie: staff see drafts, and drafts never enter the cache;
# - passes the live streams (SSE) unbuffered and pipes WebSocket upgrades;
# - answers `BAN` and `PURGE` carrying `Surrogate-Key: key1 key2 ...` from the `purgers` ACL
#   (localhost) by banning every object whose `Surrogate-Key` names one of those keys:
#   liveblog sends them after each change (LIVEBLOG_PURGE_URLS).
#
vcl 4.1;

import std;

backend liveblog {
    .host = "__LIVEBLOG_HOST__";
    .port = "__LIVEBLOG_PORT__";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
    # The live streams send a heartbeat well within this; a quiet one is not cut.
    .between_bytes_timeout = 120s;
    .probe = {
        .url = "/static/liveblog.css";
        .interval = 5s;
        .timeout = 2s;
        .window = 5;
        .threshold = 3;
        .initial = 3;
    }
}

# Who may purge. Add the addresses of the liveblog servers if they run elsewhere.
acl purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN" || req.method == "PURGE") {
        if (client.ip !~ purgers) {
            return (synth(403, "Not allowed to purge"));
        }
        # Keys are liveblog's: letters, digits, '-' and '_', separated by single spaces.
        if (req.http.Surrogate-Key !~ "^[A-Za-z0-9_-]+( [A-Za-z0-9_-]+)*$") {
            return (synth(400, "Send the keys to purge in Surrogate-Key"));
        }
        # One ban for them all; the expression has no spaces (ban arguments end at one).
        if (std.ban("obj.http.Surrogate-Key ~ (^|[[:blank:]])(" + regsuball(req.http.Surrogate-Key, " ", "|") + ")([[:blank:]]|$)")) {
            return (synth(200, "Banned"));
        }
        return (synth(400, std.ban_error()));
    }
    if (req.http.Upgrade ~ "(?i)websocket") {
        return (pipe);
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # A token or a cookie: someone's own view (an editor's holds drafts), never shared.
    if (req.http.Authorization || req.http.Cookie) {
        return (pass);
    }
    # The live streams: never cached, never waited for.
    if (req.http.Accept ~ "text/event-stream" || req.url ~ "^/api/v1/stories/[^/?]+/live" || req.url ~ "^/api/v1/events") {
        return (pass);
    }
    # While liveblog answers, content older than its TTL is served for at most this long
    # (liveblog's stale-while-revalidate); when it does not, for the object's whole grace
    # (its stale-if-error).
    if (std.healthy(req.backend_hint)) {
        set req.grace = 10s;
    }
    return (hash);
}

sub vcl_pipe {
    if (req.http.Upgrade) {
        set bereq.http.Upgrade = req.http.Upgrade;
        set bereq.http.Connection = req.http.Connection;
    }
}

sub vcl_backend_response {
    if (beresp.http.Content-Type ~ "^text/event-stream") {
        set beresp.do_stream = true;
        set beresp.do_gzip = false;
        set beresp.uncacheable = true;
        return (deliver);
    }
    if (bereq.uncacheable) {
        return (deliver);
    }
    # Only what liveblog marks public is kept (problems, token holders' answers and
    # everything without Cache-Control are not).
    if (beresp.http.Cache-Control !~ "(?i)(^|[ ,])public($|[ ,])"
        || beresp.http.Cache-Control ~ "(?i)(no-store|no-cache|private)"
        || beresp.http.Set-Cookie
        || beresp.http.Vary == "*") {
        set beresp.uncacheable = true;
        set beresp.ttl = 10s;
        return (deliver);
    }
    # beresp.ttl already follows s-maxage, and the grace stale-while-revalidate; a longer
    # stale-if-error extends the grace (served only while liveblog is unhealthy, above).
    if (beresp.http.Cache-Control ~ "stale-if-error=[0-9]+") {
        set beresp.grace = std.duration(
            regsub(beresp.http.Cache-Control, "^.*stale-if-error=([0-9]+).*$", "\1s"), beresp.grace);
    }
    return (deliver);
}

sub vcl_deliver {
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
