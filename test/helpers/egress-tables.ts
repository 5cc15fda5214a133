/** Address tables shared by the egress tests: IPv4 samples at every range boundary, and the IPv6 forms of one. */

/** IPv4 addresses and what they are: [address, reason] (reason 'allowed' for the public internet). */
export const IPV4_TABLE: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['1.0.0.1', 'allowed'],
  ['8.8.8.8', 'allowed'],
  ['9.255.255.255', 'allowed'],
  ['10.0.0.0', 'private'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['11.0.0.0', 'allowed'],
  ['93.184.215.14', 'allowed'],
  ['100.63.255.255', 'allowed'],
  ['100.64.0.0', 'carrier_grade_nat'],
  ['100.100.100.199', 'carrier_grade_nat'],
  ['100.100.100.200', 'metadata'],
  ['100.127.255.255', 'carrier_grade_nat'],
  ['100.128.0.0', 'allowed'],
  ['126.255.255.255', 'allowed'],
  ['127.0.0.0', 'loopback'],
  ['127.0.0.1', 'loopback'],
  ['127.0.1.1', 'loopback'],
  ['127.255.255.255', 'loopback'],
  ['128.0.0.0', 'allowed'],
  ['168.63.129.16', 'metadata'],
  ['169.253.255.255', 'allowed'],
  ['169.254.0.0', 'link_local'],
  ['169.254.0.23', 'metadata'],
  ['169.254.1.1', 'link_local'],
  ['169.254.169.253', 'link_local'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['169.254.170.23', 'metadata'],
  ['169.254.255.255', 'link_local'],
  ['169.255.0.0', 'allowed'],
  ['172.15.255.255', 'allowed'],
  ['172.16.0.0', 'private'],
  ['172.20.10.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.0', 'allowed'],
  ['192.0.0.0', 'reserved'],
  ['192.0.0.8', 'reserved'],
  ['192.0.0.192', 'metadata'],
  ['192.0.0.255', 'reserved'],
  ['192.0.1.0', 'allowed'],
  ['192.0.2.0', 'documentation'],
  ['192.0.2.255', 'documentation'],
  ['192.0.3.0', 'allowed'],
  ['192.88.99.1', 'reserved'],
  ['192.167.255.255', 'allowed'],
  ['192.168.0.0', 'private'],
  ['192.168.1.1', 'private'],
  ['192.168.255.255', 'private'],
  ['192.169.0.0', 'allowed'],
  ['198.17.255.255', 'allowed'],
  ['198.18.0.0', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.20.0.0', 'allowed'],
  ['198.51.100.7', 'documentation'],
  ['203.0.113.9', 'documentation'],
  ['223.255.255.255', 'allowed'],
  ['224.0.0.0', 'multicast'],
  ['224.0.0.251', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.0', 'reserved'],
  ['250.1.2.3', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'broadcast'],
];

const hex4 = (ip: string) => {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)] as const;
};
const notHex4 = (ip: string) => {
  const [a, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return [(~((a << 8) | b) & 0xffff).toString(16), (~((c << 8) | d) & 0xffff).toString(16)] as const;
};

/** Every IPv6 spelling of an IPv4 address, with what it is expected to be judged as. */
export function ipv6Forms(ip: string, reason: string): Array<readonly [string, string, string]> {
  const [hi, lo] = hex4(ip);
  const [nhi, nlo] = notHex4(ip);
  // A public IPv4 carried by a deprecated form is still denied; a denied one is denied as what it is.
  const compat = reason === 'allowed' ? 'ipv4_compatible' : reason;
  return [
    ['IPv4-mapped dotted', `::ffff:${ip}`, reason],
    ['IPv4-mapped hex', `::ffff:${hi}:${lo}`, reason],
    ['IPv4-mapped expanded', `0:0:0:0:0:ffff:${hi}:${lo}`, reason],
    ['IPv4-compatible dotted', `::${ip}`, ip === '0.0.0.0' || ip === '0.0.0.1' ? 'unspecified' : compat],
    ['IPv4-translated', `::ffff:0:${ip}`, reason],
    ['NAT64', `64:ff9b::${ip}`, reason],
    ['NAT64 hex', `64:ff9b::${hi}:${lo}`, reason],
    ['6to4', `2002:${hi}:${lo}::1`, reason],
    ['6to4 subnet', `2002:${hi}:${lo}:beef::42`, reason],
    ['Teredo client', `2001:0:4136:e378:8000:63bf:${nhi}:${nlo}`, reason],
    ['Teredo server', `2001:0:${hi}:${lo}:8000:63bf:f7f7:f7f7`, reason], // client ~f7f7f7f7 = 8.8.8.8
  ];
}
