/**
 * @file re_nojson.h  libre's headers without re_json.h
 *
 * re.h pulls in re_json.h, whose enum json_type collides with jansson's.
 * Files that build JSON with jansson include this instead of <re.h>.
 */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mbuf.h>
#include <re_msg.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_hash.h>
#include <re_main.h>
#include <re_mem.h>
#include <re_sys.h>
#include <re_tmr.h>
#include <re_uri.h>
#include <re_sip.h>
#include <re_net.h>
#include <re_tcp.h>
#include <re_udp.h>
#include <re_sipsess.h>
#include <re_srtp.h>
#include <re_tls.h>
