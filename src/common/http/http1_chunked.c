/* http1_chunked.c — the chunked transfer coding's framing (RFC 9112
 * section 7.1, see http1.h): chunk sizes and their extensions, the CRLF
 * after each chunk, and the trailer section, read a byte at a time so a
 * body may arrive in any pieces.  The data bytes themselves are the
 * caller's (http1_chunked_data).  As strict as the head parser: an
 * oversized size, whitespace where the grammar has none, a bare LF or an
 * unbounded extension or trailer is an error, never a guess. */
#include "http1.h"

#include <stddef.h>
#include <stdint.h>

static int chunk_fail(struct http_chunked *c, const char *why)
{
    c->error = why;
    return -1;
}

/* A control byte the head parser's line scan refuses too: NUL, DEL and
 * every byte below 0x20 but HTAB, CR and LF (which the callers judge). */
static int ctl_byte(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\n') || ch == 0x7f;
}

static int hex_value(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20; /* a letter in lower case; no other byte becomes a-f */
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* chunk-size [ BWS ";" chunk-ext ] CRLF.  ext_len counts every byte after the
 * digits, the whitespace included, so the whole tail of the line is bounded;
 * whitespace after the size must lead to ';' ("5 \r\n" is refused). */
static int chunk_size_byte(struct http_chunked *c, unsigned char ch)
{
    int v = hex_value(ch);

    if (v >= 0) {
        if (c->ext_len > 0)
            return chunk_fail(c, "whitespace inside chunk size");
        if (c->digits >= HTTP1_CHUNK_MAX_DIGITS)
            return chunk_fail(c, "chunk size has too many digits");
        if (c->remaining > (UINT64_MAX >> 4))
            return chunk_fail(c, "chunk size overflows");
        c->remaining = (c->remaining << 4) | (uint64_t)v;
        c->digits++;
        return 0;
    }
    if (c->digits == 0)
        return chunk_fail(c, "chunk size expected");
    if (ch == '\r' && c->ext_len == 0) {
        c->state = CHUNK_SIZE_LF;
        return 0;
    }
    if (ch == '\n')
        return chunk_fail(c, "bare LF in chunk size line");
    if (ch != ' ' && ch != '\t' && ch != ';')
        return chunk_fail(c, "bad character after chunk size");
    if (++c->ext_len > HTTP1_CHUNK_MAX_EXT)
        return chunk_fail(c, "chunk extension too long");
    if (ch == ';')
        c->state = CHUNK_EXT;
    return 0;
}

/* Trailer lines are consumed and discarded; each is checked for bare CR, bare
 * LF and control bytes so that the end of the body is unambiguous.  In this
 * state `digits` is 1 after a CR (the enum has no state of its own for it). */
static int chunk_trailer_byte(struct http_chunked *c, unsigned char ch)
{
    if (++c->trailer_len > HTTP1_CHUNK_MAX_TRAILERS)
        return chunk_fail(c, "trailers too long");
    if (c->digits) {
        if (ch != '\n')
            return chunk_fail(c, "bare CR in trailer");
        c->digits = 0;
        if (c->line_len == 0)
            c->state = CHUNK_DONE;
        c->line_len = 0;
        return 0;
    }
    if (ch == '\r') {
        c->digits = 1;
        return 0;
    }
    if (ch == '\n')
        return chunk_fail(c, "bare LF in trailer");
    if (ctl_byte(ch))
        return chunk_fail(c, "control byte in trailer");
    c->line_len++;
    return 0;
}

/* One framing byte; never called in CHUNK_DATA or CHUNK_DONE. */
static int chunk_byte(struct http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case CHUNK_SIZE:
        return chunk_size_byte(c, ch);
    case CHUNK_EXT:
        if (ch == '\r') {
            c->state = CHUNK_SIZE_LF;
            return 0;
        }
        if (ch == '\n')
            return chunk_fail(c, "bare LF in chunk extension");
        if (ctl_byte(ch))
            return chunk_fail(c, "control byte in chunk extension");
        if (++c->ext_len > HTTP1_CHUNK_MAX_EXT)
            return chunk_fail(c, "chunk extension too long");
        return 0;
    case CHUNK_SIZE_LF:
        if (ch != '\n')
            return chunk_fail(c, "CR without LF after chunk size");
        c->digits = 0;
        c->ext_len = 0;
        c->line_len = 0;
        c->state = c->remaining ? CHUNK_DATA : CHUNK_TRAILER;
        return 0;
    case CHUNK_DATA_CR:
        if (ch != '\r')
            return chunk_fail(c, "missing CRLF after chunk data");
        c->state = CHUNK_DATA_LF;
        return 0;
    case CHUNK_DATA_LF:
        if (ch != '\n')
            return chunk_fail(c, "missing LF after chunk data");
        c->state = CHUNK_SIZE;
        return 0;
    case CHUNK_TRAILER:
        return chunk_trailer_byte(c, ch);
    case CHUNK_DATA:
    case CHUNK_DONE:
        break;
    }
    return chunk_fail(c, "chunked decoder misused");
}

/* An error is sticky: once c->error is set every later call fails too, so a
 * caller that ignored one return value cannot resynchronise on garbage. */
long http1_chunked_parse(struct http_chunked *c, const char *p, size_t len)
{
    size_t i = 0;

    if (c->error)
        return HTTP1_ERROR;
    while (i < len && c->state != CHUNK_DATA && c->state != CHUNK_DONE) {
        if (chunk_byte(c, (unsigned char)p[i]) != 0)
            return HTTP1_ERROR;
        i++;
    }
    return (long)i;
}

void http1_chunked_data(struct http_chunked *c, uint64_t n)
{
    if (c->state != CHUNK_DATA)
        return;
    c->remaining -= n < c->remaining ? n : c->remaining;
    if (c->remaining == 0)
        c->state = CHUNK_DATA_CR;
}
