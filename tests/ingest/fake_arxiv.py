# ruff: noqa: E501 -- the XML fixtures keep the long lines arXiv sends
"""A real HTTP server on 127.0.0.1 that answers like arXiv's OAI-PMH and Atom API endpoints.

It serves a three-page ListRecords chain (resumption tokens in arXiv's ``id|cursor`` style)
and an id_list Atom endpoint, records every request it receives, and can be scripted:
``script(reply, ...)`` queues replies answered before anything else, and ``handlers`` maps
a path to a function from Request to Reply that tests may replace.
"""

from __future__ import annotations

import re
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape, quoteattr

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
RESPONSE_DATE = "2024-01-10T15:04:05Z"
PAGE_2_TOKEN = "6960524|1001"
PAGE_3_TOKEN = "6960524|2001"


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    status: int = 200
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/xml; charset=utf-8"


Handler = Callable[[Request], Reply]


def unavailable(retry_after: str | None = "5") -> Reply:
    """arXiv's answer to a harvester that comes too soon."""
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    seconds = retry_after if retry_after and retry_after.isdigit() else "a few"
    return Reply(503, f"Retry after {seconds} seconds", headers, "text/plain")


def retry_at(when: datetime) -> Reply:
    """503 with the HTTP-date form of Retry-After."""
    return unavailable(format_datetime(when, usegmt=True))


# -- OAI-PMH -----------------------------------------------------------------------------


def oai_record(
    paper_id: str,
    *,
    title: str | None,
    authors: list[tuple[str, str | None, str | None]],
    categories: str,
    created: str,
    updated: str | None = None,
    datestamp: str = "2024-01-09",
    extra: str = "",
    abstract: str = "",
) -> str:
    """One <record> in the arXiv metadata format; strings are escaped here like arXiv does."""
    author_xml = "".join(
        "<author>"
        f"<keyname>{escape(keyname)}</keyname>"
        + (f"<forenames>{escape(forenames)}</forenames>" if forenames else "")
        + (f"<suffix>{escape(suffix)}</suffix>" if suffix else "")
        + "</author>"
        for keyname, forenames, suffix in authors
    )
    set_spec = "cs" if categories.startswith("cs.") else "physics:hep-th"
    return f"""
<record>
<header>
 <identifier>oai:arXiv.org:{paper_id}</identifier>
 <datestamp>{datestamp}</datestamp>
 <setSpec>{set_spec}</setSpec>
</header>
<metadata>
 <arXiv xmlns="http://arxiv.org/OAI/arXiv/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://arxiv.org/OAI/arXiv/ http://arxiv.org/OAI/arXiv.xsd">
 <id>{paper_id}</id>
 <created>{created}</created>
 {f"<updated>{updated}</updated>" if updated else ""}
 <authors>{author_xml}</authors>
 {f"<title>{escape(title)}</title>" if title is not None else ""}
 <categories>{categories}</categories>
 {extra}
 <license>http://arxiv.org/licenses/nonexclusive-distrib/1.0/</license>
 <abstract>{escape(abstract)}</abstract>
 </arXiv>
</metadata>
</record>"""


def deleted_record(paper_id: str) -> str:
    return f"""
<record>
<header status="deleted">
 <identifier>oai:arXiv.org:{paper_id}</identifier>
 <datestamp>2024-01-08</datestamp>
 <setSpec>cs</setSpec>
</header>
</record>"""


SEG_TITLE = r"Segment Anything with <SEG> Tokens: $\mathcal{O}(n)$ Masks via \textsc{Lisa}"

PAGE_1 = [
    oai_record(
        "2401.00001",
        title="Attention Is Not\n  All You Need",
        authors=[("Vaswani", "Ashish", None), ("Shazeer", "Noam", None)],
        categories="cs.CL cs.LG",
        created="2024-01-01",
        abstract="  We revisit attention.\nCode: https://github.com/example/attention\n",
    ),
    oai_record(
        "2401.00002",
        title=SEG_TITLE,
        authors=[("Lai", "Xin", None), ("Jia", "Jiaya", None)],
        categories="cs.CV cs.AI",
        created="2024-01-02",
        updated="2024-01-05",
        extra=(
            "<comments>12 pages, 5 figures; CVPR 2024</comments>"
            "<journal-ref>Proc. CVPR 2024, 1-12</journal-ref>"
            "<doi>10.1109/CVPR.2024.00001</doi>"
        ),
        abstract="We predict a $<SEG>$ token & decode masks with $\\alpha$-blending.",
    ),
    oai_record(
        "hep-th/9901001",
        title="Strings on the $AdS_5 \\times S^5$ Background",
        authors=[("Maldacena", "Juan M.", None), ("Witten", "Edward", "Jr")],
        categories="hep-th",
        created="1999-01-04",
        updated="1999-02-01",
        datestamp="2024-01-09",
        extra="<report-no>IASSNS-HEP-99/01</report-no>",
        abstract="We study strings.",
    ),
]
PAGE_2 = [
    deleted_record("2401.00003"),
    oai_record(
        "2401.00004",
        title=None,  # broken: one bad record must not stop a harvest
        authors=[("Nobody", "A.", None)],
        categories="cs.LG",
        created="2024-01-03",
    ),
    oai_record(
        "2401.00005",
        title="Diffusion Models Beat GANs on Tabular Data",
        authors=[("ATLAS Collaboration", None, None)],
        categories="cs.LG stat.ML",
        created="2024-01-04",
        abstract="Tables.",
    ),
]
PAGE_3 = [
    oai_record(
        "2401.00006",
        title="A Survey of Surveys",
        authors=[("Doe", "Jane", None)],
        categories="cs.DL",
        created="2024-01-05",
        abstract="Meta.",
    ),
]
STORED_IDS = ["2401.00001", "2401.00002", "2401.00005", "2401.00006", "hep-th/9901001"]
COMPLETE_LIST_SIZE = len(PAGE_1) + len(PAGE_2) + len(PAGE_3)


def oai_response(request: Request, body: str, response_date: str = RESPONSE_DATE) -> str:
    attributes = "".join(f" {k}={quoteattr(v)}" for k, v in request.params.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">
<responseDate>{response_date}</responseDate>
<request{attributes}>http://export.arxiv.org/oai2</request>
{body}
</OAI-PMH>
"""


def oai_error(request: Request, code: str, message: str = "") -> Reply:
    """OAI-PMH errors come with HTTP 200 and an <error> element."""
    return Reply(body=oai_response(request, f'<error code="{code}">{escape(message)}</error>'))


def list_records(records: list[str], token: str | None, cursor: int) -> str:
    token_xml = (
        f'<resumptionToken cursor="{cursor}" completeListSize="{COMPLETE_LIST_SIZE}">'
        f"{escape(token or '')}</resumptionToken>"
    )
    return f"<ListRecords>{''.join(records)}\n{token_xml}\n</ListRecords>"


# Page 2 cut off mid-record, as a proxy dropping the connection might leave it.
MALFORMED_PAGE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<OAI-PMH xmlns="{OAI_NS}"><responseDate>{RESPONSE_DATE}</responseDate>'
    "<ListRecords>" + PAGE_2[2][:300]
)


# -- Atom API ------------------------------------------------------------------------------

ATOM_ENTRIES = {
    "2401.00002": """
  <entry>
    <id>http://arxiv.org/abs/2401.00002v3</id>
    <updated>2024-02-01T17:59:58Z</updated>
    <published>2024-01-02T18:00:01Z</published>
    <title>Segment Anything with &lt;SEG&gt; Tokens: $\\mathcal{O}(n)$ Masks via
  \\textsc{Lisa}</title>
    <summary>  We predict a $&lt;SEG&gt;$ token &amp; decode masks with $\\alpha$-blending.
Code: https://github.com/example/lisa
</summary>
    <author>
      <name>Xin Lai</name>
      <arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">CUHK</arxiv:affiliation>
    </author>
    <author>
      <name>Jiaya Jia</name>
    </author>
    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.1109/CVPR.2024.00001</arxiv:doi>
    <link title="doi" href="http://dx.doi.org/10.1109/CVPR.2024.00001" rel="related"/>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">12 pages, 5 figures; CVPR 2024</arxiv:comment>
    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">Proc. CVPR 2024, 1-12</arxiv:journal_ref>
    <link href="http://arxiv.org/abs/2401.00002v3" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2401.00002v3" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CV" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CV" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>
    <category term="I.4.6; I.2.10" scheme="http://arxiv.org/schemas/atom"/>
  </entry>""",
    "2401.00007": """
  <entry>
    <id>http://arxiv.org/abs/2401.00007v1</id>
    <updated>2024-01-06T10:00:00Z</updated>
    <published>2024-01-06T10:00:00Z</published>
    <title>Retrieval-Augmented Everything</title>
    <summary>We retrieve.</summary>
    <author>
      <name>Ada Lovelace</name>
    </author>
    <link href="http://arxiv.org/abs/2401.00007v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2401.00007v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.IR" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.IR" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>""",
    "hep-th/9901001": """
  <entry>
    <id>http://arxiv.org/abs/hep-th/9901001v2</id>
    <updated>1999-02-01T12:00:00Z</updated>
    <published>1999-01-04T12:00:00Z</published>
    <title>Strings on the $AdS_5 \\times S^5$ Background</title>
    <summary>We study strings.</summary>
    <author>
      <name>Juan M. Maldacena</name>
    </author>
    <author>
      <name>Edward Witten Jr</name>
    </author>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">Report IASSNS-HEP-99/01</arxiv:comment>
    <link href="http://arxiv.org/abs/hep-th/9901001v2" rel="alternate" type="text/html"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    <category term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
  </entry>""",
}


def atom_error_entry(paper_id: str) -> str:
    anchor = f"http://arxiv.org/api/errors#incorrect_id_format_for_{paper_id}"
    return f"""
  <entry>
    <id>{anchor}</id>
    <title>Error</title>
    <summary>incorrect id format for {paper_id}</summary>
    <updated>2024-01-10T00:00:00-05:00</updated>
    <link href="{anchor}" rel="alternate" type="text/html"/>
    <author>
      <name>arXiv api core</name>
    </author>
  </entry>"""


def atom_feed(request: Request, entries: list[str]) -> str:
    query = "&amp;".join(f"{k}={escape(v)}" for k, v in request.params.items())
    opensearch = 'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/"'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?{query}" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;{query}</title>
  <id>http://arxiv.org/api/Jm4xGd4tJ3VtJqBLWUqkDUxQSBM</id>
  <updated>2024-01-10T00:00:00-05:00</updated>
  <opensearch:totalResults {opensearch}>{len(entries)}</opensearch:totalResults>
  <opensearch:startIndex {opensearch}>0</opensearch:startIndex>
  <opensearch:itemsPerPage {opensearch}>{request.params.get("max_results", "10")}</opensearch:itemsPerPage>
{"".join(entries)}
</feed>
"""


# -- the server ------------------------------------------------------------------------------


class FakeArxiv:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.scripted: deque[Reply] = deque()
        self.response_date = RESPONSE_DATE
        # token of the request (None: the first request) -> (records, next token, cursor)
        self.oai_pages: dict[str | None, tuple[list[str], str | None, int]] = {
            None: (PAGE_1, PAGE_2_TOKEN, 0),
            PAGE_2_TOKEN: (PAGE_2, PAGE_3_TOKEN, len(PAGE_1)),
            PAGE_3_TOKEN: (PAGE_3, None, len(PAGE_1) + len(PAGE_2)),
        }
        self.atom_entries = dict(ATOM_ENTRIES)
        # arXiv has answered unknown ids both ways over the years.
        self.unknown_ids_as_error_entries = True
        self.handlers: dict[str, Handler] = {"/oai": self.answer_oai, "/api/query": self.answer_api}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def oai_url(self) -> str:
        return f"{self.base_url}/oai"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/query"

    def start(self) -> FakeArxiv:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, whatever they ask."""
        self.scripted.extend(replies)

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            scripted = self.scripted.popleft() if self.scripted else None
        if scripted is not None:
            return scripted
        handler = self.handlers.get(request.path)
        if handler is None:
            return Reply(404, "Not Found", content_type="text/plain")
        return handler(request)

    def answer_oai(self, request: Request) -> Reply:
        params = request.params
        if params.get("verb") != "ListRecords":
            return oai_error(request, "badVerb", "Illegal OAI verb")
        token = params.get("resumptionToken")
        if token is not None:
            if set(params) != {"verb", "resumptionToken"}:
                return oai_error(request, "badArgument", "resumptionToken is exclusive")
            if token not in self.oai_pages:
                return oai_error(request, "badResumptionToken", "Invalid or expired token")
        elif params.get("metadataPrefix") != "arXiv":
            return oai_error(request, "cannotDisseminateFormat", "Unknown metadata format")
        records, next_token, cursor = self.oai_pages[token]
        body = list_records(records, next_token, cursor)
        return Reply(body=oai_response(request, body, self.response_date))

    def answer_api(self, request: Request) -> Reply:
        entries = []
        for paper_id in request.params.get("id_list", "").split(","):
            base = re.sub(r"v\d+$", "", paper_id)
            if base in self.atom_entries:
                entries.append(self.atom_entries[base])
            elif self.unknown_ids_as_error_entries:
                entries.append(atom_error_entry(paper_id))
        return Reply(
            body=atom_feed(request, entries), content_type="application/atom+xml; charset=utf-8"
        )


class SilentArxiv:
    """arXiv unreachable the worst way: a server on 127.0.0.1 that accepts connections,
    reads nothing and never answers (as a firewall that drops packets, or a hung proxy).
    `accepted` counts the connections it holds."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def api_url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}/api/query"

    @property
    def accepted(self) -> int:
        return len(self._held)

    def start(self) -> SilentArxiv:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        for connection in [*self._held, self._listener]:
            connection.close()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _address = self._listener.accept()
            except TimeoutError:
                continue
            self._held.append(connection)


def _handler_class(fake: FakeArxiv) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # else headers and body wait on delayed ACKs (~40 ms)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            request = Request(
                path=url.path,
                params=dict(parse_qsl(url.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            reply = fake.answer(request)
            body = reply.body.encode() if isinstance(reply.body, str) else reply.body
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler
