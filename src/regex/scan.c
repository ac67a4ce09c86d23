/**
 * @file scan.c  The byte classes of libre's SIP expressions (scan.h)
 */
#include <re_types.h>
#include <re_fmt.h>
#include "regex/scan.h"


#define HEXL(c)  [c] = SC_HEX | SC_ALPHA
#define ALPHA(c) [c] = SC_ALPHA

const uint16_t scan_cls[256] = {
	[':']  = SC_COLON | SC_HEX,
	['@']  = SC_AT,
	['/']  = SC_SLASH,
	[';']  = SC_SEMI,
	['?']  = SC_QUEST,
	[' ']  = SC_SP | SC_WS,
	['\t'] = SC_WS, ['\r'] = SC_WS, ['\n'] = SC_WS,
	['<']  = SC_LT,
	['>']  = SC_GT,
	['0'] = SC_HEX | SC_DIGIT, ['1'] = SC_HEX | SC_DIGIT,
	['2'] = SC_HEX | SC_DIGIT, ['3'] = SC_HEX | SC_DIGIT,
	['4'] = SC_HEX | SC_DIGIT, ['5'] = SC_HEX | SC_DIGIT,
	['6'] = SC_HEX | SC_DIGIT, ['7'] = SC_HEX | SC_DIGIT,
	['8'] = SC_HEX | SC_DIGIT, ['9'] = SC_HEX | SC_DIGIT,
	HEXL('a'), HEXL('b'), HEXL('c'), HEXL('d'), HEXL('e'), HEXL('f'),
	HEXL('A'), HEXL('B'), HEXL('C'), HEXL('D'), HEXL('E'), HEXL('F'),
	ALPHA('g'), ALPHA('h'), ALPHA('i'), ALPHA('j'), ALPHA('k'),
	ALPHA('l'), ALPHA('m'), ALPHA('n'), ALPHA('o'), ALPHA('p'),
	ALPHA('q'), ALPHA('r'), ALPHA('s'), ALPHA('t'), ALPHA('u'),
	ALPHA('v'), ALPHA('w'), ALPHA('x'), ALPHA('y'), ALPHA('z'),
	ALPHA('G'), ALPHA('H'), ALPHA('I'), ALPHA('J'), ALPHA('K'),
	ALPHA('L'), ALPHA('M'), ALPHA('N'), ALPHA('O'), ALPHA('P'),
	ALPHA('Q'), ALPHA('R'), ALPHA('S'), ALPHA('T'), ALPHA('U'),
	ALPHA('V'), ALPHA('W'), ALPHA('X'), ALPHA('Y'), ALPHA('Z'),
};
