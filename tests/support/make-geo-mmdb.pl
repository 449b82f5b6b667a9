#!/usr/bin/perl
# make-geo-mmdb.pl — writes the tiny MaxMind database the geo tests read.
# Usage: make-geo-mmdb.pl OUT.mmdb
#
# Records are shaped like GeoIP2-Country's (country.iso_code,
# continent.code, registered_country.iso_code).  The IPv4 networks sit in
# the IPv6 tree's ::/96 subtree only: there are deliberately no ::ffff:0:0/96
# aliases, so the tests prove that geo.c looks IPv4-mapped clients up as IPv4.
# Loopback and documentation networks are used, hence remove_reserved_networks 0.
use strict;
use warnings;

use MaxMind::DB::Writer::Tree;

die "usage: $0 OUT.mmdb\n" unless @ARGV == 1;
my $out = $ARGV[0];

my %types = (
    country            => 'map',
    continent          => 'map',
    registered_country => 'map',
    iso_code           => 'utf8_string',
    code               => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    database_type            => 'Gatehouse-Test-Country',
    description              => { en => 'Gatehouse geo unit-test database' },
    ip_version               => 6,
    record_size              => 24,
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => 0,
    map_key_type_callback    => sub { $types{ $_[0] } or die "no type for key $_[0]\n" },
);

sub place {
    my ($country, $continent) = @_;
    return {
        country   => { iso_code => $country },
        continent => { code     => $continent },
    };
}

$tree->insert_network('127.0.0.2/32', place('DE', 'EU'));
$tree->insert_network('127.0.0.3/32', place('US', 'NA'));
$tree->insert_network('127.0.0.4/32', place('JP', 'AS'));
# only a registered country, as for some anycast and satellite networks
$tree->insert_network('127.0.0.5/32',
    { registered_country => { iso_code => 'SE' }, continent => { code => 'EU' } });
# a native IPv6 network
$tree->insert_network('2001:db8::/32', place('FR', 'EU'));

open my $fh, '>:raw', $out or die "$out: $!\n";
$tree->write_tree($fh);
close $fh or die "$out: $!\n";
