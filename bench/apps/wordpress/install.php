<?php
// Installs WordPress into its empty database from the command line, as
// wp-admin/install.php's second step does, with no server running yet:
//   php install.php DOCROOT PERMALINK_STRUCTURE
// Run by setup.mjs for the page-load benchmark; not part of the served copy.
if ($argc !== 3) {
    fwrite(STDERR, "usage: php install.php DOCROOT PERMALINK_STRUCTURE\n");
    exit(2);
}
define('WP_INSTALLING', true);
require $argv[1] . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

// No HTTP and no mail from the install: wp_install() tests pretty permalinks
// with a request to the site (no server runs yet, and the answer would
// depend on which one did) and mails the admin.
add_filter('pre_http_request', function () {
    return new WP_Error('bench', 'no HTTP during the install');
});
add_filter('pre_wp_mail', '__return_false');

wp_install('WordPress', 'admin', 'admin@example.com', false, '', bin2hex(random_bytes(16)));

// The structure WordPress would pick behind nginx or apache, without the
// date, so that the post's path is known before the run: every target
// routes paths that are no file to index.php.
$wp_rewrite->set_permalink_structure($argv[2]);
$wp_rewrite->flush_rules(false);
// The sample comment's avatar would come from gravatar.com: no request may
// leave the machine (and a failed one would stop the run).
update_option('show_avatars', 0);
echo "installed\n";
