# proxies.py: the proxies Python's urllib would use, judging from HTTP_PROXY and
# REQUEST_METHOD alone (every other variable is set aside).
import os
import urllib.request

keep = {k: v for k, v in os.environ.items() if k in ("HTTP_PROXY", "REQUEST_METHOD")}
os.environ.clear()
os.environ.update(keep)
print(urllib.request.getproxies())
