"""shop.py: the app of lesson 14's exercise, a WSGI app in one file of standard Python.

It makes its links from SCRIPT_NAME, as a framework's url_for does, so they are right
wherever it is mounted, and it needs a secret key, SHOP_SECRET_KEY, in its environment.

    GET /       the shop, with a link to the cart
    GET /cart   the cart
    GET /key    whether the key is set (never the key itself)
"""

import os


def application(environ, start_response):
    base = environ.get("SCRIPT_NAME", "")
    path = environ.get("PATH_INFO", "") or "/"
    key = os.environ.get("SHOP_SECRET_KEY", "")
    status = "200 OK"
    if path == "/":
        body = f"the shop\ncart: {base}/cart\n"
    elif path == "/cart":
        body = f"the cart is empty\nback: {base}/\n"
    elif path == "/key":
        if len(key) >= 16:
            body = "a secret key is set\n"
        else:
            status = "500 Internal Server Error"
            body = "no secret key: SHOP_SECRET_KEY needs 16 characters or more\n"
    else:
        status = "404 Not Found"
        body = f"no page {path} here\n"
    data = body.encode()
    start_response(
        status,
        [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))],
    )
    return [data]
