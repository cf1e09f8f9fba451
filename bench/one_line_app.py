"""A one-line Flask app: what gunicorn itself serves on this machine, the reference ceiling."""

from flask import Flask, jsonify

app = Flask(__name__)
app.add_url_rule("/bench/bare", "bare", lambda: jsonify({"status": "ok"}))
