#!/usr/bin/env python3
"""The API's contract check (tests/api/api.sh): every recorded answer's
route, method and status must be in data/openapi.json and its body must
validate against the schema given there, with jsonschema (python3-jsonschema)
as the validator; the document itself with openapi-spec-validator when that
is installed. Usage: validate.py OPENAPI.json RECORDS.tsv"""
import json
import re
import sys
import warnings

warnings.simplefilter("ignore")
import jsonschema  # noqa: E402

doc = json.load(open(sys.argv[1]))
bad = 0
try:
    from openapi_spec_validator import validate as validate_spec
except ImportError:
    try:
        from openapi_spec_validator import validate_spec
    except ImportError:
        validate_spec = None
if validate_spec:
    try:
        validate_spec(doc)
        print("ok - the document is valid OpenAPI (openapi-spec-validator)")
    except Exception as e:  # noqa: BLE001
        print("not ok - the document is not valid OpenAPI: %s" % str(e)[:500])
        bad += 1
else:
    print("# openapi-spec-validator not installed: the document's own check is skipped")

resolver = jsonschema.RefResolver.from_schema(doc)


def deref(x):
    while isinstance(x, dict) and "$ref" in x:
        x = resolver.resolve(x["$ref"])[1]
    return x


def template(path):
    for p in doc["paths"]:
        rx = "^" + re.sub(r"\\\{[^/]+\\\}", "[^/]+", re.escape(p)) + "$"
        if re.match(rx, path):
            return p
    return None


n = 0
for line in open(sys.argv[2]):
    method, path, status, ctype, body = line.rstrip("\n").split("\t")
    path = path.split("?")[0]
    name = "%s %s -> %s" % (method, path, status)
    n += 1
    t = template(path)
    if t is None:
        if status == "404":
            continue  # an unknown path: not a route, the 404 is the router's
        print("not ok - %s: no such path in the document" % name)
        bad += 1
        continue
    op = doc["paths"][t].get(method.lower())
    if op is None:
        if status == "405":
            continue
        print("not ok - %s: method not in the document" % name)
        bad += 1
        continue
    r = op["responses"].get(status)
    if r is None:
        print("not ok - %s: status not documented for %s %s" % (name, method, t))
        bad += 1
        continue
    r = deref(r)
    media = (ctype or "").split(";")[0].strip()
    content = r.get("content", {})
    if media not in content:
        print("not ok - %s: content type %r not documented" % (name, media))
        bad += 1
        continue
    schema = deref(content[media].get("schema", {}))
    if media != "application/json":
        continue
    try:
        data = json.load(open(body))
        jsonschema.Draft202012Validator(schema, resolver=resolver).validate(data)
    except Exception as e:  # noqa: BLE001
        print("not ok - %s: body does not match the schema: %s" % (name, str(e)[:600]))
        bad += 1
print("%d answers checked against the document, %d failed" % (n, bad))
sys.exit(1 if bad else 0)
