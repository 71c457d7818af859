/*
 * gen.h -- client configuration snippets ("rblmuxctl gen").
 *
 * Writes a ready snippet for SpamAssassin, Postfix (reject_rbl_client),
 * postscreen, Exim or rspamd from a zone of the view answering now, so
 * that bit numbers, values and weights are never copied by hand:
 *
 * - bitmask zones: one rule per bit (SpamAssassin check_rbl_sub with the
 *   bit as a decimal mask, Exim ZONE&0.0.0.BIT, rspamd returnbits,
 *   Postfix and postscreen filters listing the values with the bit set);
 * - each zones: one rule per member value; a member answering its own
 *   value that the config does not name (a local list, an upstream
 *   without code: lines) gets a rule on its per-result subzone
 *   RESULT.ZONE instead;
 * - score zones: one rule per possible score 127.0.0.N (postscreen
 *   weight N, SpamAssassin score N), and a threshold;
 * - served zones: one rule per upstream code of a mirror, else one rule
 *   for any listing.
 *
 * A rule's weight is the member's weight (postscreen weight, SpamAssassin
 * and rspamd score); the suggested threshold is the largest single
 * weight. The text depends on the view alone (no time, no order of
 * hashing), so the same config always gives the same snippet.
 *
 * Address zones look up the client (SpamAssassin's last external relay,
 * rspamd's "from"); zones that list domain names only look up the
 * envelope sender's domain (check_rbl_envfrom, reject_rhsbl_sender,
 * $sender_address_domain, an rspamd selector), and postscreen, which
 * asks addresses only, refuses them.
 *
 * Runs in the event loop on a borrowed view; allocates only the answer
 * text (struct ctl_out counts what does not fit).
 */
#ifndef RBLMUX_GEN_H
#define RBLMUX_GEN_H

#include <stdbool.h>

struct view;
struct ctl_out;

#define GEN_CLIENTS	"spamassassin, postfix, postscreen, exim, rspamd"

/*
 * The "gen" command, argv[0] "gen": argv[1] the client, argv[2] the zone.
 * Appends the snippet to o and returns true, or appends why not (usage,
 * an unknown client naming the clients, an unknown zone naming the zones)
 * and returns false.
 */
bool	 gen_command(const struct view *v, int argc, char **argv,
	    struct ctl_out *o);

#endif /* RBLMUX_GEN_H */
