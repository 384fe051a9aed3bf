# cython: language_level=3
"""Fleet wire codec: messages to and from msgpack maps of scalars, without a dict in between.

A fleet message is one msgpack map ``{"v": 1, "kind": k, "id": n, field: value, ...}`` (``core/messages.py``).
Most of the traffic (telemetry, commands, acknowledgements, progress) holds only scalars, and decoding it
through a Python dict plus one check per field cost more than the socket. :class:`Codec` reads such a frame
straight into the message's slots, checking every field as its schema says, and writes messages straight to
msgpack bytes (the same bytes ``msgpack.packb(..., use_bin_type=True)`` gives).

The codec is an accelerator, never a judge. Whatever it cannot vouch for — bytes that are not exactly one
msgpack map, a key that is not a field of the kind, an array, map or extension value, a field that fails its
check, a kind or class it was not given, a value it cannot pack — it answers ``None`` and the caller's general
codec (which words the error) takes over. So it needs no error vocabulary of its own and cannot change what a
malformed frame does. ``_wire_ref.py`` is the same codec in plain Python; tests hold the two equal.

The table (built by ``core.messages``) has one entry per kind: ``(kind, cls, id_slot, fields)``, a field being
``(name, check, default, slot)``: ``slot`` is the class's member descriptor, ``default`` is ``("required",
None)``, ``("value", v)`` or ``("factory", f)``, and ``check`` one of ``("int", lo, hi)``, ``("float", lo, hi,
nan_ok)`` (an integer is taken as a float), ``("str", max_chars, empty_ok)``, ``("bool",)``, ``("bytes",
max_len)``, ``("enum", {int: member})``, ``("any",)`` or ``("container",)`` (a field that is never a scalar).
Keys repeated in a map keep their last value, as msgpack's own decoder does.
"""
from cpython.bytes cimport (PyBytes_AS_STRING, PyBytes_Check, PyBytes_CheckExact, PyBytes_FromStringAndSize,
                            PyBytes_GET_SIZE)
from cpython.dict cimport PyDict_GetItem
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_Check, PyFloat_FromDouble
from cpython.long cimport (PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong, PyLong_Check,
                           PyLong_FromLongLong, PyLong_FromUnsignedLongLong)
from cpython.object cimport PyObject, PyTypeObject
from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_Check, PyUnicode_DecodeUTF8
from libc.stdint cimport int8_t, int16_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy, memcmp, memset

cdef extern from *:
    """
    /* A frozen slots class refuses __setattr__; its member descriptors still read and write the slots. */
    static PyObject *agf_slot_get(PyObject *descr, PyObject *obj) {
        return Py_TYPE(descr)->tp_descr_get(descr, obj, (PyObject *)Py_TYPE(obj));
    }
    static int agf_slot_set(PyObject *descr, PyObject *obj, PyObject *value) {
        return Py_TYPE(descr)->tp_descr_set(descr, obj, value);
    }
    static PyObject *agf_new(PyObject *cls, PyObject *no_args) {
        return ((PyTypeObject *)cls)->tp_new((PyTypeObject *)cls, no_args, NULL);
    }
    """
    object agf_slot_get(object descr, object obj)
    int agf_slot_set(object descr, object obj, object value) except -1
    object agf_new(object cls, object no_args)

__all__ = ["Codec"]

cdef enum:
    MAX_KEYS = 128        # distinct field names over all kinds, the envelope included
    MAX_FIELDS = 32       # fields of one kind
    MAX_KIND = 64         # kinds are small integers
    KEY_TABLE = 512       # open-addressing table of key names (power of two, > 2 * MAX_KEYS)
    STACK_BYTES = 1024    # encode into the stack first; longer messages get a second, exact pass
    K_V = 0               # the envelope's keys have fixed indices
    K_KIND = 1
    K_ID = 2

cdef enum Tag:
    T_ABSENT = 0
    T_NIL
    T_FALSE
    T_TRUE
    T_INT      # fits int64: i
    T_UINT     # above INT64_MAX: u
    T_FLOAT    # d
    T_STR      # p, n bytes of valid UTF-8, chars code points
    T_BIN      # p, n

cdef enum CheckKind:
    C_INT
    C_FLOAT
    C_STR
    C_BOOL
    C_BYTES
    C_ENUM
    C_ANY
    C_CONTAINER

cdef enum DefaultKind:
    D_REQUIRED
    D_VALUE
    D_FACTORY

cdef struct Val:
    int64_t i
    uint64_t u
    double d
    const unsigned char *p
    Py_ssize_t n
    Py_ssize_t chars

cdef struct Field:
    int key
    int check
    int dflt
    int64_t lo
    int64_t hi
    double flo
    double fhi
    bint nan_ok
    Py_ssize_t max_len
    bint empty_ok
    PyObject *default       # borrowed: Codec._keep holds every object referenced here
    PyObject *slot
    PyObject *enum_map
    const char *key_enc     # the key as msgpack (fixstr header + name)
    Py_ssize_t key_enc_len

cdef struct KindSpec:
    bint present
    int nfields
    int64_t kind
    PyObject *cls
    PyObject *id_slot
    unsigned char allowed[MAX_KEYS]
    Field fields[MAX_FIELDS]

cdef object _INVALID = object()
cdef bytes _V1_KIND = b"\xa1v\x01\xa4kind"     # "v": 1, then the key "kind"
cdef bytes _ID = b"\xa2id"
cdef tuple _NO_ARGS = ()


cdef inline uint32_t _hash(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    cdef uint32_t h = 2166136261u
    cdef Py_ssize_t k
    for k in range(n):
        h = (h ^ p[k]) * 16777619u
    return h


cdef inline uint64_t _be(const unsigned char *p, int width) noexcept nogil:
    cdef uint64_t v = 0
    cdef int k
    for k in range(width):
        v = (v << 8) | p[k]
    return v


cdef Py_ssize_t _utf8_chars(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    """Code points in ``p[:n]``, or -1 when it is not UTF-8 as Python's strict decoder reads it (no
    overlong forms, no surrogates, nothing above U+10FFFF)."""
    cdef Py_ssize_t k = 0, chars = 0
    cdef unsigned char b, b1
    while k < n:
        b = p[k]
        chars += 1
        if b < 0x80:
            k += 1
            continue
        if b < 0xC2 or b > 0xF4:
            return -1
        if b < 0xE0:
            if k + 1 >= n or (p[k + 1] & 0xC0) != 0x80:
                return -1
            k += 2
            continue
        if k + 1 >= n:
            return -1
        b1 = p[k + 1]
        if (b1 & 0xC0) != 0x80:
            return -1
        if b < 0xF0:
            if (b == 0xE0 and b1 < 0xA0) or (b == 0xED and b1 >= 0xA0):
                return -1
            if k + 2 >= n or (p[k + 2] & 0xC0) != 0x80:
                return -1
            k += 3
            continue
        if (b == 0xF0 and b1 < 0x90) or (b == 0xF4 and b1 >= 0x90):
            return -1
        if k + 3 >= n or (p[k + 2] & 0xC0) != 0x80 or (p[k + 3] & 0xC0) != 0x80:
            return -1
        k += 4
    return chars


cdef int _scalar(const unsigned char *p, Py_ssize_t n, Py_ssize_t *pos, unsigned char *tag, Val *v) noexcept nogil:
    """Read one scalar at ``*pos``: 1 when it is one (tag and value set), 0 for anything else."""
    cdef Py_ssize_t at = pos[0], length = 0
    cdef unsigned char b
    cdef uint64_t u
    cdef uint32_t f32
    cdef float f
    cdef int width = 0
    if at >= n:
        return 0
    b = p[at]
    at += 1
    if b <= 0x7F:
        tag[0], v.i = T_INT, b
    elif b >= 0xE0:
        tag[0], v.i = T_INT, <int8_t>b
    elif 0xA0 <= b <= 0xBF:
        tag[0], length = T_STR, b & 0x1F
    elif b == 0xC0:
        tag[0] = T_NIL
    elif b == 0xC2:
        tag[0] = T_FALSE
    elif b == 0xC3:
        tag[0] = T_TRUE
    elif 0xC4 <= b <= 0xC6 or 0xD9 <= b <= 0xDB:
        width = 1 << (b - 0xC4) if b <= 0xC6 else 1 << (b - 0xD9)
        if n - at < width:
            return 0
        length = <Py_ssize_t>_be(p + at, width)
        at += width
        tag[0] = T_BIN if b <= 0xC6 else T_STR
    elif b == 0xCA:
        if n - at < 4:
            return 0
        f32 = <uint32_t>_be(p + at, 4)
        memcpy(&f, &f32, 4)
        tag[0], v.d = T_FLOAT, f
        at += 4
    elif b == 0xCB:
        if n - at < 8:
            return 0
        u = _be(p + at, 8)
        memcpy(&v.d, &u, 8)
        tag[0] = T_FLOAT
        at += 8
    elif 0xCC <= b <= 0xCF:
        width = 1 << (b - 0xCC)
        if n - at < width:
            return 0
        u = _be(p + at, width)
        at += width
        if u > <uint64_t>0x7FFFFFFFFFFFFFFF:
            tag[0], v.u = T_UINT, u
        else:
            tag[0], v.i = T_INT, <int64_t>u
    elif 0xD0 <= b <= 0xD3:
        width = 1 << (b - 0xD0)
        if n - at < width:
            return 0
        u = _be(p + at, width)
        at += width
        if width == 1:
            v.i = <int8_t>u
        elif width == 2:
            v.i = <int16_t>u
        elif width == 4:
            v.i = <int32_t>u
        else:
            v.i = <int64_t>u
        tag[0] = T_INT
    else:
        return 0                        # arrays, maps, extensions, the reserved byte
    if tag[0] == T_STR or tag[0] == T_BIN:
        if length > n - at:
            return 0
        v.p, v.n = p + at, length
        if tag[0] == T_STR:
            v.chars = _utf8_chars(p + at, length)
            if v.chars < 0:
                return 0
        at += length
    pos[0] = at
    return 1


cdef object _scalar_object(unsigned char tag, const Val *v):
    if tag == T_NIL:
        return None
    if tag == T_FALSE:
        return False
    if tag == T_TRUE:
        return True
    if tag == T_INT:
        return PyLong_FromLongLong(v.i)
    if tag == T_UINT:
        return PyLong_FromUnsignedLongLong(v.u)
    if tag == T_FLOAT:
        return PyFloat_FromDouble(v.d)
    if tag == T_STR:
        return PyUnicode_DecodeUTF8(<char *>v.p, v.n, NULL)
    return PyBytes_FromStringAndSize(<char *>v.p, v.n)


cdef object _field_value(const Field *f, unsigned char tag, const Val *v):
    """The slot value of field ``f`` read as ``tag``/``v``, or ``_INVALID`` when it fails the field's check."""
    cdef double d
    cdef PyObject *member
    if f.check == C_INT:
        if tag == T_INT and f.lo <= v.i <= f.hi:
            return PyLong_FromLongLong(v.i)
    elif f.check == C_FLOAT:
        if tag == T_FLOAT:
            d = v.d
        elif tag == T_INT:
            d = <double>v.i
        elif tag == T_UINT:
            d = <double>v.u
        else:
            return _INVALID
        if f.flo <= d <= f.fhi or (f.nan_ok and d != d):
            return PyFloat_FromDouble(d)
    elif f.check == C_STR:
        if tag == T_STR and v.chars <= f.max_len and (f.empty_ok or v.chars > 0):
            return PyUnicode_DecodeUTF8(<char *>v.p, v.n, NULL)
    elif f.check == C_BOOL:
        if tag == T_TRUE:
            return True
        if tag == T_FALSE:
            return False
    elif f.check == C_BYTES:
        if tag == T_BIN and v.n <= f.max_len:
            return PyBytes_FromStringAndSize(<char *>v.p, v.n)
    elif f.check == C_ENUM:
        if tag == T_INT:
            member = PyDict_GetItem(<object>f.enum_map, PyLong_FromLongLong(v.i))
            if member != NULL:
                return <object>member
    elif f.check == C_ANY:
        return _scalar_object(tag, v)
    return _INVALID


cdef inline Py_ssize_t _put(unsigned char *buf, Py_ssize_t cap, Py_ssize_t pos, const void *src,
                            Py_ssize_t n) noexcept:
    if pos + n <= cap:
        memcpy(buf + pos, src, n)
    return pos + n


cdef inline Py_ssize_t _put_head(unsigned char *buf, Py_ssize_t cap, Py_ssize_t pos, unsigned char code,
                                 uint64_t value, int width) noexcept:
    """``code`` followed by ``value`` big-endian in ``width`` bytes (0 = the code alone)."""
    cdef int k
    if pos + 1 + width <= cap:
        buf[pos] = code
        for k in range(width):
            buf[pos + 1 + k] = <unsigned char>(value >> (8 * (width - 1 - k)))
    return pos + 1 + width


cdef Py_ssize_t _pack_int(unsigned char *buf, Py_ssize_t cap, Py_ssize_t pos, int64_t d) noexcept:
    """msgpack's smallest form: unsigned codes for non-negative values, signed ones for negative values."""
    if d >= 0:
        if d < 128:
            return _put_head(buf, cap, pos, <unsigned char>d, 0, 0)
        if d < 256:
            return _put_head(buf, cap, pos, 0xCC, <uint64_t>d, 1)
        if d < 65536:
            return _put_head(buf, cap, pos, 0xCD, <uint64_t>d, 2)
        if d < 4294967296:
            return _put_head(buf, cap, pos, 0xCE, <uint64_t>d, 4)
        return _put_head(buf, cap, pos, 0xCF, <uint64_t>d, 8)
    if d >= -32:
        return _put_head(buf, cap, pos, <unsigned char>(<int8_t>d), 0, 0)
    if d >= -128:
        return _put_head(buf, cap, pos, 0xD0, <uint64_t>d, 1)
    if d >= -32768:
        return _put_head(buf, cap, pos, 0xD1, <uint64_t>d, 2)
    if d >= -2147483648:
        return _put_head(buf, cap, pos, 0xD2, <uint64_t>d, 4)
    return _put_head(buf, cap, pos, 0xD3, <uint64_t>d, 8)


cdef Py_ssize_t _pack_len(unsigned char *buf, Py_ssize_t cap, Py_ssize_t pos, Py_ssize_t n, unsigned char fix,
                          int fix_limit, unsigned char code8) noexcept:
    """The header of a string (``fix`` = 0xA0, fixstr below 32) or a binary (no fix form)."""
    if n < fix_limit:
        return _put_head(buf, cap, pos, fix | <unsigned char>n, 0, 0)
    if n < 256:
        return _put_head(buf, cap, pos, code8, <uint64_t>n, 1)
    if n < 65536:
        return _put_head(buf, cap, pos, code8 + 1, <uint64_t>n, 2)
    return _put_head(buf, cap, pos, code8 + 2, <uint64_t>n, 4)


cdef Py_ssize_t _pack_value(unsigned char *buf, Py_ssize_t cap, Py_ssize_t pos, object value) except -2:
    """Append ``value`` as msgpack; -1 when it is not a scalar this codec packs (the general codec will)."""
    cdef int overflow = 0
    cdef long long ll
    cdef unsigned long long ull
    cdef double d
    cdef uint64_t bits
    cdef const char *text
    cdef Py_ssize_t n
    if value is None:
        return _put_head(buf, cap, pos, 0xC0, 0, 0)
    if value is True:
        return _put_head(buf, cap, pos, 0xC3, 0, 0)
    if value is False:
        return _put_head(buf, cap, pos, 0xC2, 0, 0)
    if PyLong_Check(value):
        ll = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0:
            return _pack_int(buf, cap, pos, ll)
        if overflow < 0:
            return -1
        try:
            ull = PyLong_AsUnsignedLongLong(value)
        except OverflowError:
            return -1
        return _put_head(buf, cap, pos, 0xCF, ull, 8)
    if PyFloat_Check(value):
        d = PyFloat_AS_DOUBLE(value)
        memcpy(&bits, &d, 8)
        return _put_head(buf, cap, pos, 0xCB, bits, 8)
    if PyBytes_Check(value):
        n = PyBytes_GET_SIZE(value)
        if n > 0xFFFFFFFF:
            return -1
        pos = _pack_len(buf, cap, pos, n, 0, 0, 0xC4)
        return _put(buf, cap, pos, PyBytes_AS_STRING(value), n)
    if PyUnicode_Check(value):
        try:
            text = PyUnicode_AsUTF8AndSize(value, &n)
        except UnicodeError:
            return -1
        if n > 0xFFFFFFFF:
            return -1
        pos = _pack_len(buf, cap, pos, n, 0xA0, 32, 0xD9)
        return _put(buf, cap, pos, text, n)
    return -1


cdef class Codec:
    """Decoder and encoder for the kinds of a table (see the module's docstring)."""

    cdef KindSpec *_kinds
    cdef list _keep
    cdef dict _by_cls
    cdef int _nkeys
    cdef short _key_table[KEY_TABLE]
    cdef const char *_key_ptr[MAX_KEYS]
    cdef Py_ssize_t _key_len[MAX_KEYS]

    def __cinit__(self, table):
        self._kinds = <KindSpec *>calloc(MAX_KIND, sizeof(KindSpec))
        if self._kinds == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self._kinds)

    def __init__(self, table):
        self._keep = []
        self._by_cls = {}
        self._nkeys = 0
        memset(self._key_table, 0xFF, sizeof(self._key_table))
        for name in ("v", "kind", "id"):
            self._key(name)
        for kind, cls, id_slot, fields in table:
            self._add_kind(int(kind), cls, id_slot, tuple(fields))

    cdef int _key(self, str name) except -1:
        cdef bytes raw = name.encode("utf-8")
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(raw)
        cdef Py_ssize_t n = len(raw)
        cdef uint32_t h = _hash(p, n) & (KEY_TABLE - 1)
        cdef int g = self._lookup(p, n)
        if g >= 0:
            return g
        while self._key_table[h] >= 0:
            h = (h + 1) & (KEY_TABLE - 1)
        if self._nkeys >= MAX_KEYS:
            raise ValueError(f"wire codec: more than {MAX_KEYS} distinct field names")
        g = self._nkeys
        self._nkeys += 1
        self._keep.append(raw)
        self._key_ptr[g], self._key_len[g] = <const char *>p, n
        self._key_table[h] = <short>g
        return g

    cdef inline int _lookup(self, const unsigned char *p, Py_ssize_t n) noexcept:
        cdef uint32_t h = _hash(p, n) & (KEY_TABLE - 1)
        cdef int g
        while self._key_table[h] >= 0:
            g = self._key_table[h]
            if self._key_len[g] == n and memcmp(self._key_ptr[g], p, n) == 0:
                return g
            h = (h + 1) & (KEY_TABLE - 1)
        return -1

    cdef _add_kind(self, int64_t kind, object cls, object id_slot, tuple fields):
        if not 0 <= kind < MAX_KIND or len(fields) > MAX_FIELDS:
            raise ValueError(f"wire codec: kind {kind} with {len(fields)} fields is outside the codec's limits")
        cdef KindSpec *spec = &self._kinds[kind]
        cdef Field *f
        cdef bytes key_enc
        spec.present, spec.kind, spec.nfields = True, kind, len(fields)
        spec.cls, spec.id_slot = <PyObject *>cls, <PyObject *>id_slot
        self._keep += [cls, id_slot]
        for g in (K_V, K_KIND, K_ID):
            spec.allowed[g] = 1
        for k, (name, check, default, slot) in enumerate(fields):
            f = &spec.fields[k]
            f.key = self._key(name)
            spec.allowed[f.key] = 1
            raw = name.encode("utf-8")
            if len(raw) >= 32:
                raise ValueError(f"wire codec: field name {name!r} is too long")
            key_enc = bytes([0xA0 | len(raw)]) + raw
            self._keep += [key_enc, slot, default[1]]
            f.key_enc, f.key_enc_len = PyBytes_AS_STRING(key_enc), len(key_enc)
            f.slot = <PyObject *>slot
            f.dflt = {"required": D_REQUIRED, "value": D_VALUE, "factory": D_FACTORY}[default[0]]
            f.default = <PyObject *>default[1]
            f.check = {"int": C_INT, "float": C_FLOAT, "str": C_STR, "bool": C_BOOL, "bytes": C_BYTES,
                       "enum": C_ENUM, "any": C_ANY, "container": C_CONTAINER}[check[0]]
            if f.check == C_INT:
                f.lo, f.hi = check[1], check[2]
            elif f.check == C_FLOAT:
                f.flo, f.fhi, f.nan_ok = check[1], check[2], check[3]
            elif f.check == C_STR:
                f.max_len, f.empty_ok = check[1], check[2]
            elif f.check == C_BYTES:
                f.max_len = check[1]
            elif f.check == C_ENUM:
                enum_map = dict(check[1])
                self._keep.append(enum_map)
                f.enum_map = <PyObject *>enum_map
        self._by_cls[cls] = kind

    def decode(self, frame):
        """The message in ``frame`` (bytes), or ``None`` when this codec cannot vouch for it."""
        if not PyBytes_CheckExact(frame):
            return None
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(frame)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(frame), pos = 1, entries, e, klen
        cdef unsigned char tags[MAX_KEYS]
        cdef Val vals[MAX_KEYS]
        cdef int seen[MAX_KEYS]
        cdef int nseen = 0, g, k, width
        cdef unsigned char b
        cdef KindSpec *spec
        cdef Field *f
        cdef int64_t msg_id = 0
        if n < 1:
            return None
        b = p[0]
        if 0x80 <= b <= 0x8F:
            entries = b & 0x0F
        elif b == 0xDE or b == 0xDF:
            width = 2 if b == 0xDE else 4
            if n - pos < width:
                return None
            entries = <Py_ssize_t>_be(p + pos, width)
            pos += width
        else:
            return None
        memset(tags, 0, MAX_KEYS)
        for e in range(entries):
            if pos >= n:
                return None
            b = p[pos]
            pos += 1
            if 0xA0 <= b <= 0xBF:
                klen = b & 0x1F
            elif 0xD9 <= b <= 0xDB:
                width = 1 << (b - 0xD9)
                if n - pos < width:
                    return None
                klen = <Py_ssize_t>_be(p + pos, width)
                pos += width
            else:
                return None                     # a key that is not a string is no field
            if klen > n - pos:
                return None
            g = self._lookup(p + pos, klen)
            if g < 0:
                return None
            pos += klen
            if tags[g] == T_ABSENT:
                seen[nseen] = g
                nseen += 1
            if not _scalar(p, n, &pos, &tags[g], &vals[g]):
                return None
        if pos != n:
            return None                         # trailing bytes
        if tags[K_V] != T_INT or vals[K_V].i != 1 or tags[K_KIND] != T_INT:
            return None
        if not 0 <= vals[K_KIND].i < MAX_KIND or not self._kinds[vals[K_KIND].i].present:
            return None
        spec = &self._kinds[vals[K_KIND].i]
        if tags[K_ID] != T_ABSENT:
            if tags[K_ID] != T_INT or vals[K_ID].i < 0:
                return None
            msg_id = vals[K_ID].i
        for k in range(nseen):
            if not spec.allowed[seen[k]]:
                return None
        msg = agf_new(<object>spec.cls, _NO_ARGS)
        agf_slot_set(<object>spec.id_slot, msg, PyLong_FromLongLong(msg_id))
        for k in range(spec.nfields):
            f = &spec.fields[k]
            if tags[f.key] == T_ABSENT:
                if f.dflt == D_REQUIRED:
                    return None
                value = <object>f.default if f.dflt == D_VALUE else (<object>f.default)()
            else:
                value = _field_value(f, tags[f.key], &vals[f.key])
                if value is _INVALID:
                    return None
            agf_slot_set(<object>f.slot, msg, value)
        return msg

    def encode(self, msg):
        """``msg`` as msgpack bytes (fields in schema order, then ``v``, ``kind``, ``id``), or ``None`` when
        a value is not a scalar this codec packs or the class is not in the table."""
        cdef PyObject *found = PyDict_GetItem(self._by_cls, type(msg))
        if found == NULL:
            return None
        cdef KindSpec *spec = &self._kinds[<int64_t>(<object>found)]
        cdef unsigned char stack[STACK_BYTES]
        cdef Py_ssize_t size = self._write(spec, msg, stack, STACK_BYTES)
        if size < 0:
            return None
        if size <= STACK_BYTES:
            return PyBytes_FromStringAndSize(<char *>stack, size)
        out = PyBytes_FromStringAndSize(NULL, size)
        if self._write(spec, msg, <unsigned char *>PyBytes_AS_STRING(out), size) != size:
            return None
        return out

    cdef Py_ssize_t _write(self, KindSpec *spec, object msg, unsigned char *buf, Py_ssize_t cap) except -2:
        """Write ``msg`` into ``buf`` as far as ``cap`` allows; returns the full size (-1: not packable)."""
        cdef Py_ssize_t pos
        cdef int k
        cdef Field *f
        cdef int entries = spec.nfields + 3
        pos = _put_head(buf, cap, 0, 0x80 | entries, 0, 0) if entries < 16 else \
            _put_head(buf, cap, 0, 0xDE, <uint64_t>entries, 2)
        for k in range(spec.nfields):
            f = &spec.fields[k]
            pos = _put(buf, cap, pos, f.key_enc, f.key_enc_len)
            pos = _pack_value(buf, cap, pos, agf_slot_get(<object>f.slot, msg))
            if pos < 0:
                return -1
        pos = _put(buf, cap, pos, PyBytes_AS_STRING(_V1_KIND), PyBytes_GET_SIZE(_V1_KIND))
        pos = _pack_int(buf, cap, pos, spec.kind)
        pos = _put(buf, cap, pos, PyBytes_AS_STRING(_ID), PyBytes_GET_SIZE(_ID))
        return _pack_value(buf, cap, pos, agf_slot_get(<object>spec.id_slot, msg))
