/**
 * @file src/api/statuspage.h  The status page served at /
 */
extern const char statuspage_html[];
extern const size_t statuspage_len;
