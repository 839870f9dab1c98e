"""The shipped reverse-proxy configuration keeps Streamlit's metrics endpoint and
patient codes in query strings off the network and out of logs."""

import re
from pathlib import Path

CONF = (Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf").read_text()


def test_metrics_endpoint_is_not_exposed():
    block = re.search(r"location = /_stcore/metrics \{(.*?)\}", CONF, re.S)
    assert block and re.search(r"return 40[34];", block.group(1))


def test_websockets_and_session_affinity():
    assert "proxy_set_header Upgrade $http_upgrade;" in CONF and "ip_hash;" in CONF


def test_access_log_leaves_out_query_strings():
    assert re.search(r"log_format caseboard_no_query .*\$uri\"", CONF) and "$request " not in CONF
