# flask_hello.py: hello as a Flask app, for comparing a cgilab pool with gunicorn on a
# real framework (pip install flask gunicorn).
from flask import Flask, Response

application = Flask(__name__)


@application.route("/", defaults={"path": ""})
@application.route("/<path:path>")
def hello(path):
    return Response("Hello, world!\n", mimetype="text/plain")
