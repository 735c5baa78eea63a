#!/usr/bin/python3
"""gen.py - the benchmark's fictitious internet and its mail stream.

Writes, into OUTDIR, from a seed and nothing else (same seed, same bytes):

  zones/*.zone     nsd zone files: the TLDs "test." and "example." and the
                   reverse zones of the documentation ranges
  nsd-zones.conf   the zone: stanzas for nsd.conf
  zones.list       one zone apex per line, "." (a stand-in root) among them
  stream.req       a stream of Postfix policy requests (SMTPD_POLICY_README):
                   messages with 1-3 recipients (one request per recipient,
                   one instance per message), sender domains drawn with a
                   Zipf-like popularity
  distinct.req     one single-recipient message per sender domain, in order of
                   first appearance in the stream (the differential pass and
                   the cold-cache runs use it)
  prime.req        requests for eight "primer" domains that share nothing with
                   the rest (the load driver's warm-up before the clock, -w)
  *.meta           per request: index, message, first-of-message flag, sender
                   domain, domain kind, scenario (tab-separated)
  domains.tsv      every sender domain with its kind and SPF record
  summary.txt      counts per kind and scenario

The world (all names under .test / .example, all addresses documentation
ranges):

  198.51.100.0/24 + 2001:db8:100::/40   shared mail providers; their SPF is a tree
                                         of includes nested up to three deep,
                                         long records split into several strings
  192.0.2.1-199                          shared hosting (a, mx, ip4: of domains)
  192.0.2.200-239                        dedicated hosts of the ptr: domains
  192.0.2.240-254                        forwarders and mailing lists (in no record)
  203.0.113.0/24 + 2001:db8:ffff::/48    botnets, never authorised
  2001:db8:a000::/36                     self-hosted IPv6 senders (one /64 each)

Sender domain kinds (weights in KINDS below) cover ip4/ip6, a and mx, includes
of providers, redirect=, exists: with macros, ptr, -all/~all/?all, no record,
NXDOMAIN, syntax errors and records over the DNS-lookup and void-lookup limits.

Scenarios per message: "legit" (client from the domain's own authorised set),
"forwarded" (another provider or a forwarder), "forged" (botnet addresses), and
a few null senders (bounces: only the HELO identity).

Usage: gen.py [--seed N] [--domains N] [--requests N] OUTDIR
Only the Python standard library; run with /usr/bin/python3.
"""

import argparse
import bisect
import ipaddress
import os
import random

TTL = 86400

WORDS = ("acme alpine amber apex arbor atlas aurora axis beacon birch bolt breeze "
         "canyon cedar cobalt comet coral crest delta dune echo ember falcon fern "
         "fjord flint forge galaxy garnet glacier granite harbor hazel helix heron "
         "indigo iris ivory jade jasper juniper kestrel kite lagoon lark laurel "
         "lumen lynx maple marble meadow mesa nimbus nova oak onyx orbit orchid "
         "otter pebble pine pixel plume polar prism quartz quill raven reef ridge "
         "river sable sage sierra slate solar spruce summit tango terra thistle "
         "tidal topaz tundra umber vale vector velvet willow zenith zephyr").split()

# ------------------------------------------------------------------ providers
# name, v4 address count, v6 /64 count, nesting shape (list of netblock records
# under the top record; a list inside means a further level), helo-spf?, all
PROVIDERS = [
    ("bigmail.example", 32, 6, [["nb1", "nb2", "nb3"]], True, "~all"),
    ("outlookish.example", 24, 4, ["spfa", "spfb"], False, "-all"),
    ("mailchimpy.example", 16, 2, ["servers"], True, "?all"),
    ("sendgridish.example", 16, 2, ["u1", ["u2", "u3"]], False, "~all"),
    ("zohoish.example", 12, 2, ["spf1", "spf2"], True, "~all"),
    ("amazonish.example", 24, 4, [["use1", "euw1", "apn1"]], False, "~all"),
    ("hostco.example", 16, 1, [], True, "~all"),
    ("relaysvc.example", 12, 0, [], False, "-all"),     # exists:%{i} provider
    ("crmsend.example", 16, 2, ["mta1", "mta2"], True, "-all"),
    ("newsletters.example", 16, 2, [["a", "b"]], False, "~all"),
]
FORWARDERS = [("fwd%d.lists.example" % i, "192.0.2.%d" % (240 + i)) for i in range(15)]

KINDS = [  # kind, weight (percent-ish)
    ("provider", 27), ("own+provider", 16), ("a-mx", 9), ("multi-provider", 8),
    ("ip6", 4), ("redirect", 5), ("exists-macro", 3), ("ptr", 1),
    ("neutral", 3), ("hardfail-only", 2), ("no-record", 9), ("nxdomain", 3),
    ("syntax-error", 3), ("over-limit", 2), ("void-limit", 1), ("sub-redirect", 4),
]

SYNTAX_ERRORS = [
    "v=spf1 ip4:192.0.2.300 -all",
    "v=spf1 include -all",
    "v=spf1 mx/33 -all",
    "v=spf1 a mx redirect=%s redirect=hostco.example",
    "v=spf1 ip4:192.0.2.0/24 ~all garbage",
    "v=spf1 exists:%%{q}.%s -all",
    "v=spf1 ip6:2001:db8::/129 -all",
    "v=spf1 a:%s/24//200 -all",
    "v=spf1 include:%s. ip4:192.0.2.1 =all",
    "v=spf1 +mx ?ip4:192.0.2.7 ~all exp",
]


def fqdn(apex):
    return "." if apex == "." else apex + "."


def txt_rdata(text):
    """Zone-file TXT rdata: strings of at most 255 bytes, quoted."""
    parts = [text[i:i + 250] for i in range(0, len(text), 250)] or [""]
    return " ".join('"%s"' % p.replace("\\", "\\\\").replace('"', '\\"') for p in parts)


class Zone:
    """Records of one zone, kept in insertion order (deterministic output)."""

    def __init__(self, apex):
        self.apex = apex
        self.rrs = []

    def add(self, name, rtype, rdata):
        self.rrs.append((name, rtype, rdata))

    def write(self, path):
        with open(path, "w") as f:
            f.write("$ORIGIN %s\n$TTL %d\n" % (fqdn(self.apex), TTL))
            f.write("@ IN SOA ns.example. hostmaster.example. 1 3600 600 86400 %d\n" % TTL)
            f.write("@ IN NS ns.example.\n")
            for name, rtype, rdata in self.rrs:
                f.write("%s. IN %s %s\n" % (name, rtype, rdata))


class World:
    def __init__(self, rnd, ndomains):
        self.rnd = rnd
        # "." is a stand-in root: names outside the world get NXDOMAIN at once
        # (HELO names such as "localhost" or "WIN-1F2A"), as from the real root.
        self.zones = {z: Zone(z) for z in (".", "test", "example", "2.0.192.in-addr.arpa",
                                            "100.51.198.in-addr.arpa",
                                            "113.0.203.in-addr.arpa",
                                            "8.b.d.0.1.0.0.2.ip6.arpa")}
        self.providers = {}
        self.domains = []           # dicts: name, kind, record, auth (list of (ip, helo))
        self.build_providers()
        self.build_misc()
        self.build_domains(ndomains)

    # -------------------------------------------------------------- helpers
    def zone_of(self, name):
        if name.endswith(".in-addr.arpa") or name.endswith(".ip6.arpa"):
            for z in self.zones:
                if name.endswith("." + z):
                    return self.zones[z]
            return None
        return self.zones[name.rsplit(".", 1)[1]]

    def add(self, name, rtype, rdata):
        z = self.zone_of(name)
        if z is not None:
            z.add(name, rtype, rdata)

    def ptr(self, ip, name):
        rev = ipaddress.ip_address(ip).reverse_pointer
        self.add(rev, "PTR", name + ".")

    def host(self, name, ip, ptr=True):
        self.add(name, "AAAA" if ":" in ip else "A", ip)
        if ptr:
            self.ptr(ip, name)

    # -------------------------------------------------------------- providers
    def build_providers(self):
        v4 = 0
        for pi, (pname, n4, n6, shape, helo_spf, allq) in enumerate(PROVIDERS):
            ips4 = ["198.51.100.%d" % (v4 + i) for i in range(n4)]
            v4 += n4
            ips6 = ["2001:db8:1%02x:%x::25" % (pi, j) for j in range(n6)]
            hosts = []
            for i, ip in enumerate(ips4 + ips6):
                hname = "o%d.mta.%s" % (i, pname)
                self.host(hname, ip)
                if helo_spf:
                    self.add(hname, "TXT", txt_rdata("v=spf1 a -all"))
                hosts.append((ip, hname))
            # Ranges: v4 as /29s, /30s and single addresses; v6 as /64s.
            ranges = []
            i = 0
            while i < n4:
                size = 8 if (n4 - i) >= 8 and i % 8 == 0 else 4 if (n4 - i) >= 4 and i % 4 == 0 else 1
                ranges.append("ip4:%s/%d" % (ips4[i], {8: 29, 4: 30, 1: 32}[size]) if size > 1
                              else "ip4:%s" % ips4[i])
                i += size
            ranges += ["ip6:2001:db8:1%02x:%x::/64" % (pi, j) for j in range(n6)]
            # Padding ranges outside the documentation space would be outside
            # our world; pad with other people's /24s inside 2001:db8 instead,
            # as the large providers' records are long.
            pad = ["ip6:2001:db8:%x::/48" % (0x8000 + pi * 64 + k) for k in range(12)]
            top = "_spf." + pname if pname != "mailchimpy.example" else "spf." + pname
            if pname == "relaysvc.example":
                for ip in ips4:
                    self.add("%s._spf.%s" % (ip, pname), "A", "127.0.0.2")
                rec = "v=spf1 exists:%%{i}._spf.%s -all" % pname
                self.add(top, "TXT", txt_rdata(rec))
            elif not shape:
                self.add(top, "TXT", txt_rdata("v=spf1 %s a:smtp.%s %s" %
                                               (" ".join(ranges), pname, allq)))
                self.host("smtp." + pname, ips4[-1])
            else:
                leaves = []

                def flat(s):
                    for x in s:
                        if isinstance(x, list):
                            for y in flat(x):
                                yield y
                        else:
                            yield x
                leaves = list(flat(shape))
                chunks = [ranges[k::len(leaves)] + pad[k::len(leaves)] for k in range(len(leaves))]
                leafname = {lf: "_%s.%s" % (lf, pname) for lf in leaves}
                for lf, ch in zip(leaves, chunks):
                    self.add(leafname[lf], "TXT", txt_rdata("v=spf1 %s ~all" % " ".join(ch)))
                # Build the tree: a nested list becomes its own intermediate record.
                def node(s, name):
                    terms = []
                    for k, x in enumerate(s):
                        if isinstance(x, list):
                            sub = "_netblocks%s.%s" % ("" if k == 0 else k, pname)
                            node(x, sub)
                            terms.append("include:" + sub)
                        else:
                            terms.append("include:" + leafname[x])
                    self.add(name, "TXT", txt_rdata("v=spf1 %s %s" % (" ".join(terms),
                                                                       allq if name == top else "~all")))
                node(shape, top)
            self.add(pname, "TXT", txt_rdata("v=spf1 include:%s %s" % (top, allq)))
            self.add(pname, "MX", "10 mx.%s." % pname)
            self.host("mx." + pname, ips4[0], ptr=False)
            self.providers[pname] = {"top": top, "hosts": hosts, "all": allq}

    def build_misc(self):
        # the name server of every zone (nsd answers for all of them)
        self.add("ns.example", "A", "127.0.0.2")
        for name, ip in FORWARDERS:
            self.host(name, ip)
            self.add(name, "TXT", txt_rdata("v=spf1 a -all"))
        # Botnet reverse DNS: generic names, half of them forward-confirmed.
        for i in range(1, 255):
            name = "%d-%d.dyn.isp.example" % (113, i)
            self.ptr("203.0.113.%d" % i, name)
            if i % 2 == 0:
                self.add(name, "A", "203.0.113.%d" % i)
        # The receiving side
        self.add("mx.receiver.example", "A", "192.0.2.250")

    # -------------------------------------------------------------- domains
    def pick_provider(self, exclude=()):
        names = [p for p in self.providers if p not in exclude and p != "hostco.example"]
        return self.rnd.choice(names)

    def build_domains(self, n):
        rnd = self.rnd
        kinds, weights = zip(*KINDS)
        cum = []
        acc = 0
        for w in weights:
            acc += w
            cum.append(acc)
        seen = set()
        ptr_next = 200
        brands = []
        for i in range(n):
            kind = kinds[bisect.bisect_right(cum, rnd.random() * acc)]
            if kind == "ptr" and ptr_next > 239:
                kind = "a-mx"
            if kind == "sub-redirect" and not brands:
                kind = "provider"
            tld = "test" if rnd.random() < 0.6 else "example"
            while True:
                name = "%s%d.%s" % (rnd.choice(WORDS), rnd.randrange(1, 10000), tld)
                if name not in seen and not name.startswith(tuple(p.split(".")[0] + "." for p in self.providers)):
                    break
            if kind == "sub-redirect":
                parent = rnd.choice(brands)
                name = "%s.%s" % (rnd.choice(("news", "shop", "info", "mail", "billing")), parent["name"])
                if name in seen:
                    kind = "provider"
                    name = "x%d.%s" % (i, parent["name"])
            seen.add(name)
            d = self.make_domain(name, kind, i, ptr_next if kind == "ptr" else None,
                                 parent if kind == "sub-redirect" else None)
            if kind == "ptr":
                ptr_next += 1
            if kind in ("provider", "own+provider", "multi-provider") and len(brands) < 200:
                brands.append(d)
            self.domains.append(d)

    def make_domain(self, name, kind, i, ptr_ip, parent):
        rnd = self.rnd
        hostip = "192.0.2.%d" % (1 + (i * 37) % 199)
        allq = rnd.choice(("-all", "-all", "~all", "~all", "~all", "?all"))
        auth = []   # (client ip, helo) pairs that should pass
        rec = None
        extra = []  # further TXT records at the apex
        mail = "mail." + name
        if kind != "nxdomain":
            self.host(mail, hostip, ptr=False)
            self.add(name, "MX", "10 %s." % mail)
            self.add(name, "A", hostip)
            if rnd.random() < 0.5:
                extra.append("google-site-verification=%032x" % rnd.getrandbits(128))
            if rnd.random() < 0.2:
                extra.append("MS=ms%08d" % rnd.randrange(10 ** 8))

        def prov_auth(p):
            return list(self.providers[p]["hosts"])

        if kind == "provider":
            p = self.pick_provider()
            rec = "v=spf1 include:%s %s" % (self.providers[p]["top"], allq)
            auth = prov_auth(p)
        elif kind == "own+provider":
            p = self.pick_provider()
            rec = "v=spf1 ip4:%s mx include:%s %s" % (hostip, self.providers[p]["top"], allq)
            auth = [(hostip, mail)] + prov_auth(p)
        elif kind == "a-mx":
            rec = "v=spf1 a mx %s" % allq
            auth = [(hostip, mail)]
        elif kind == "multi-provider":
            ps = rnd.sample([p for p in self.providers if p not in ("hostco.example",)], 3)
            rec = "v=spf1 ip4:%s/32 %s %s" % (hostip, " ".join("include:" + self.providers[p]["top"]
                                                                for p in ps), allq)
            auth = [(hostip, mail)]
            for p in ps:
                auth += prov_auth(p)
        elif kind == "ip6":
            six = "2001:db8:a%03x:%x::" % (i >> 12 & 0xfff, i & 0xfff)
            rec = "v=spf1 ip6:%s/64 ip4:%s mx %s" % (six, hostip, allq)
            self.add(mail, "AAAA", six + "25")
            auth = [(six + "25", mail), (hostip, mail)]
        elif kind == "redirect":
            rec = "v=spf1 redirect=_spf.hostco.example"
            auth = prov_auth("hostco.example")
        elif kind == "sub-redirect":
            rec = "v=spf1 redirect=%s" % parent["name"]
            auth = list(parent["auth"])
        elif kind == "exists-macro":
            if rnd.random() < 0.5:
                rec = "v=spf1 include:_spf.relaysvc.example ~all"
                auth = prov_auth("relaysvc.example")
            else:
                # exists:%{ir}.%{v}._spf.%{d} with one A record per authorised IP
                rec = "v=spf1 exists:%%{ir}.%%{v}._spf.%%{d} %s" % allq
                for ip in (hostip, "192.0.2.%d" % (1 + (i * 53) % 199)):
                    rev = ".".join(reversed(ip.split(".")))
                    self.add("%s.in-addr._spf.%s" % (rev, name), "A", "127.0.0.2")
                    auth.append((ip, mail))
        elif kind == "ptr":
            ip = "192.0.2.%d" % ptr_ip
            host = "smtp%d.%s" % (ptr_ip, name)
            self.host(host, ip)
            rec = rnd.choice(("v=spf1 ptr -all", "v=spf1 ptr:%s ~all" % name,
                              "v=spf1 mx ptr ?all"))
            auth = [(ip, host)]
        elif kind == "neutral":
            rec = rnd.choice(("v=spf1 ?all", "v=spf1 mx ?all", "v=spf1 +all",
                              "v=spf1 a include:%s ?all" % self.providers[self.pick_provider()]["top"]))
            auth = [(hostip, mail)]
        elif kind == "hardfail-only":
            rec = "v=spf1 -all"
            auth = []
        elif kind == "no-record":
            rec = None
            auth = [(hostip, mail)]
        elif kind == "nxdomain":
            rec = None
            auth = [("192.0.2.%d" % (1 + i % 199), "mail." + name)]
        elif kind == "syntax-error":
            t = rnd.choice(SYNTAX_ERRORS)
            rec = t % name if "%s" in t else t.replace("%%", "%")
            if rnd.random() < 0.25:
                # two SPF records: permerror (RFC 7208 4.5)
                rec = "v=spf1 a -all"
                extra.append("v=spf1 mx ~all")
            auth = [(hostip, mail)]
        elif kind == "over-limit":
            ps = [p for p in self.providers if p not in ("hostco.example", "relaysvc.example")]
            rnd.shuffle(ps)
            rec = "v=spf1 %s a mx %s" % (" ".join("include:" + self.providers[p]["top"]
                                                   for p in ps[:6]), allq)
            auth = [(hostip, mail)] + prov_auth(ps[0])
        elif kind == "void-limit":
            rec = "v=spf1 a:gone1.%s a:gone2.%s mx:gone3.%s ip4:%s %s" % (name, name, name, hostip, allq)
            auth = [(hostip, mail)]
        if rec is not None:
            self.add(name, "TXT", txt_rdata(rec))
        for e in extra:
            self.add(name, "TXT", txt_rdata(e))
        return {"name": name, "kind": kind, "record": rec or "-", "auth": auth, "host": (hostip, mail)}


# ------------------------------------------------------------------ requests
class Stream:
    def __init__(self, world, rnd):
        self.w = world
        self.rnd = rnd
        self.msgno = 0

    def scenario(self):
        r = self.rnd.random()
        return "legit" if r < 0.70 else "forwarded" if r < 0.80 else "null" if r < 0.83 else "forged"

    def message(self, d, scen, nrcpt):
        rnd = self.rnd
        auth = d["auth"]
        if scen in ("legit", "null") and auth:
            ip, helo = rnd.choice(auth)
        elif scen == "forwarded" or (scen in ("legit", "null") and not auth):
            if rnd.random() < 0.5:
                helo, ip = rnd.choice(FORWARDERS)
            else:
                ip, helo = rnd.choice(self.w.providers[self.w.pick_provider()]["hosts"])
            scen = "forwarded"
        else:
            if rnd.random() < 0.85:
                n = rnd.randrange(1, 255)
                ip = "203.0.113.%d" % n
            else:
                ip = "2001:db8:ffff:%x::%x" % (rnd.randrange(65536), rnd.randrange(1, 65536))
            helo = rnd.choice(("113-%d.dyn.isp.example" % rnd.randrange(1, 255), d["name"],
                               "localhost", "[%s]" % ip, "WIN-%04X" % rnd.randrange(65536),
                               "mail." + d["name"]))
        self.msgno += 1
        local = rnd.choice(("info", "noreply", "news", "billing", "john.doe", "alerts",
                            "u%d" % rnd.randrange(10000), "bounce+%x" % rnd.getrandbits(32)))
        sender = "" if scen == "null" else "%s@%s" % (local, d["name"])
        qid = "%X" % (0x3A00000000 + self.msgno * 7919)
        instance = "%x.%x.%x.%d" % (0x1f0a + self.msgno // 4096, 0x65000000 + self.msgno,
                                    self.msgno * 13 % 0xfffff, 0)
        rev = "unknown"
        reqs = []
        for r in range(nrcpt):
            rcpt = "%s%d@receiver.example" % (rnd.choice(("alice", "bob", "carol", "dave", "erin")), r)
            attrs = [
                ("request", "smtpd_access_policy"), ("protocol_state", "RCPT"),
                ("protocol_name", "ESMTP"), ("helo_name", helo), ("queue_id", ""),
                ("sender", sender), ("recipient", rcpt), ("recipient_count", "0"),
                ("client_address", ip), ("client_name", rev), ("client_port", str(40000 + self.msgno % 20000)),
                ("reverse_client_name", rev), ("server_address", "192.0.2.250"), ("server_port", "25"),
                ("sasl_method", ""), ("sasl_username", ""), ("sasl_sender", ""), ("size", "0"),
                ("ccert_subject", ""), ("ccert_issuer", ""), ("ccert_fingerprint", ""),
                ("ccert_pubkey_fingerprint", ""), ("encryption_protocol", "TLSv1.3"),
                ("encryption_cipher", "TLS_AES_256_GCM_SHA384"), ("encryption_keysize", "256"),
                ("etrn_domain", ""), ("stress", ""), ("policy_context", ""),
                ("compatibility_level", "3.6"), ("mail_version", "3.7.11"),
                ("instance", instance),   # last: the load driver rewrites it on wrap-around
            ]
            reqs.append(("".join("%s=%s\n" % a for a in attrs) + "\n",
                         (self.msgno, 1 if r == 0 else 0, d["name"], d["kind"], scen)))
        return reqs


def write_requests(path, msgs):
    with open(path + ".req", "w") as f, open(path + ".meta", "w") as m:
        m.write("#index\tmessage\tfirst\tdomain\tkind\tscenario\n")
        idx = 0
        for reqs in msgs:
            for text, meta in reqs:
                f.write(text)
                m.write("%d\t%d\t%d\t%s\t%s\t%s\n" % ((idx,) + meta))
                idx += 1
    return idx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=7208)
    ap.add_argument("--domains", type=int, default=3000)
    ap.add_argument("--requests", type=int, default=40000)
    ap.add_argument("--zipf", type=float, default=0.95)
    ap.add_argument("outdir")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    w = World(rnd, a.domains)
    os.makedirs(os.path.join(a.outdir, "zones"), exist_ok=True)
    with open(os.path.join(a.outdir, "nsd-zones.conf"), "w") as f, \
            open(os.path.join(a.outdir, "zones.list"), "w") as zl:
        for apex, z in w.zones.items():
            fn = os.path.join(a.outdir, "zones", ("root" if apex == "." else apex) + ".zone")
            z.write(fn)
            f.write("zone:\n\tname: \"%s\"\n\tzonefile: \"%s\"\n" % (fqdn(apex), os.path.abspath(fn)))
            zl.write(fqdn(apex) + "\n")
    with open(os.path.join(a.outdir, "domains.tsv"), "w") as f:
        f.write("#domain\tkind\trecord\n")
        for d in w.domains:
            f.write("%s\t%s\t%s\n" % (d["name"], d["kind"], d["record"]))

    # Popularity: rank r has weight 1/r^s over a shuffled domain list.
    order = list(range(len(w.domains)))
    rnd.shuffle(order)
    cum = []
    acc = 0.0
    for r in range(len(order)):
        acc += 1.0 / (r + 1) ** a.zipf
        cum.append(acc)
    st = Stream(w, rnd)
    msgs = []
    first_seen = []
    seen = set()
    nreq = 0
    while nreq < a.requests:
        d = w.domains[order[bisect.bisect_right(cum, rnd.random() * acc)]]
        nrcpt = 1 if rnd.random() < 0.8 else rnd.choice((2, 2, 3))
        msgs.append(st.message(d, st.scenario(), nrcpt))
        nreq += nrcpt
        if d["name"] not in seen:
            seen.add(d["name"])
            first_seen.append(d)
    total = write_requests(os.path.join(a.outdir, "stream"), msgs)
    # distinct: first appearance order, then the domains never drawn, by rank
    for k in order:
        if w.domains[k]["name"] not in seen:
            seen.add(w.domains[k]["name"])
            first_seen.append(w.domains[k])
    dmsgs = [st.message(d, st.scenario(), 1) for d in first_seen]
    ndist = write_requests(os.path.join(a.outdir, "distinct"), dmsgs)
    # primers: their own records and provider, so priming warms no measured name
    w.add("_spf.primer.test", "TXT", txt_rdata("v=spf1 ip4:198.51.100.250 ip6:2001:db8:b01::/48 ~all"))
    w.add("198.51.100.250._e.primer.test", "A", "127.0.0.2")
    primers = []
    for k in range(8):
        name = "primer%d.test" % k
        w.host("mail." + name, "192.0.2.%d" % (240 + k), ptr=False)
        w.add(name, "MX", "10 mail.%s." % name)
        w.add(name, "TXT", txt_rdata("v=spf1 ip4:192.0.2.%d a mx ip6:2001:db8:b00::/48 "
                                     "include:_spf.primer.test exists:%%{i}._e.primer.test "
                                     "%s" % (230 + k, ("-all", "~all", "?all")[k % 3])))
        primers.append({"name": name, "kind": "primer", "host": None,
                        "auth": [("192.0.2.%d" % (240 + k), "mail." + name)]})
    pm = [st.message(d, "legit", 1) for d in primers]
    write_requests(os.path.join(a.outdir, "prime"), pm)
    for apex, z in w.zones.items():
        z.write(os.path.join(a.outdir, "zones", ("root" if apex == "." else apex) + ".zone"))

    with open(os.path.join(a.outdir, "summary.txt"), "w") as f:
        f.write("seed %d, %d sender domains, %d messages / %d requests in the stream, "
                "%d distinct domains drawn\n" % (a.seed, len(w.domains), len(msgs), total,
                                                 len(first_seen)))
        counts = {}
        for d in w.domains:
            counts[d["kind"]] = counts.get(d["kind"], 0) + 1
        f.write("kinds: " + ", ".join("%s %d" % kv for kv in counts.items()) + "\n")
        sc = {}
        for reqs in msgs:
            s = reqs[0][1][4]
            sc[s] = sc.get(s, 0) + 1
        f.write("scenarios: " + ", ".join("%s %d" % kv for kv in sc.items()) + "\n")
        f.write("zone records: " + ", ".join("%s %d" % (k, len(z.rrs)) for k, z in w.zones.items()) + "\n")
        f.write("distinct.req: %d requests\n" % ndist)


if __name__ == "__main__":
    main()
