"""The app as the benchmarks serve it: ``wsgi.py``'s app plus one bare route.

``GET /bench/bare`` does nothing, yet passes every request hook the app has (request log,
security headers, session, rate limiter, CSRF check, login): it is the same server's ceiling,
what every endpoint pays before doing anything. gunicorn imports this module with
``--pythonpath bench`` and ``--chdir`` the app's directory, so a before/after run serves another
checkout of the app (``git archive``) with the same bare route.
"""

from flask import jsonify

from wsgi import app


def bare():
    return jsonify({"status": "ok"})


app.add_url_rule("/bench/bare", "bench_bare", bare)
