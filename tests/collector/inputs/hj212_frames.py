"""Real HJ 212 frames for the codec, CLI and fuzz tests, each with where it was copied from (verbatim, without its CR LF).

Repositories are named `github:owner/name@commit path`; docs/hj212.md lists the same sources.
"""
# ruff: noqa: E501

# HJ 212-2017 Appendix A, the standard's own CRC example (tonyxia2016/HJ212Receiver@433861a6b1db, HJ212-2017协议文档/*.pdf, PDF page 24)
CN1062_STANDARD = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterv"
    b"al=30&&1C80"
)

# github:guocay/hj212-protocol@5a1ac2a779e8 protocol/src/test/java/com/github/guocay/hj212/ApplicationTest.java, line 26 (lower-case CRC cc01)
CN2011_LOWER_CRC = (
    b"##0317QN=20191012133710130;ST=22;CN=2011;PW=123456;MN=Y80110010000010;Flag=4;CP=&&DataTime=201910121"
    b"33710;a21005-Rtd=0.00,a21005-Flag=N;a21004-Rtd=0.00,a21004-Flag=N;a21007-Rtd=0.033,a21007-Flag=N;a21"
    b"006-Rtd=0.036,a21006-Flag=N;a21001-Rtd=25.40,a21001-Flag=N;a21003-Rtd=101.94,a21003-Flag=N;a21002-Rt"
    b"d=49.20,a21002-Flag=N&&cc01"
)

# github:mutoushirana/HJ212Virtual@e0788abf423a Redflag.Slave.Virtual/Redflag.Slave.Virtual/bin/Debug/Logs/Log.txt.10, a DAU simulator's log, Flag=5
CN2011_ANSWER_WANTED = (
    b"##0310QN=20210409103207982;ST=21;CN=2011;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&DataTime=2021040910"
    b"3200;w01018-Rtd=234.114485613729,w01018-Flag=N;w21003-Rtd=34.1483096459174,w21003-Flag=N;w21011-Rtd="
    b"3.72885174518398,w21011-Flag=N;w21001-Rtd=33.5182681427422,w21001-Flag=N;w01001-Rtd=6.58722985600458"
    b",w01001-Flag=N&&21C0"
)

# github:mutoushirana/HJ212Virtual@e0788abf423a Redflag.Slave.Virtual/Redflag.Slave.Virtual/bin/Debug/Logs/Log.txt.10, the platform's answer to CN2011_ANSWER_WANTED (ST=21, Flag=5: not the standard's ST=91, Flag=4)
CN9014_LIVE_PLATFORM = b"##0077QN=20210409103207982;ST=21;CN=9014;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&&&B681"

# github:tonyxia2016/HJ212Receiver@433861a6b1db sources/GB212Service/bin/Debug/rx.log, line 4: a 2005-style header, no QN and no Flag, ST=101
CN2011_2005_NO_QN = (
    b"##0234ST=101;CN=2011;PW=123456;MN=41050022000017;CP=&&DataTime=20200922110000;a34010-Rtd=2.017,a3401"
    b"0-Flag=N;a34009-Rtd=0.522,a34009-Flag=N;ua19004-Rtd=2.017,ua19004-Flag=N;ua19005-Rtd=0.522,ua19005-F"
    b"lag=N;ua19003-Rtd=2.539,ua19003-Flag=N&&3300"
)

# github:flash520/hj212@a6c72ae7323a parse_test.go, line 38 (MN not hex: JLYP01_AIR01_0001)
CN2051 = (
    b"##0411QN=20220513162608370;ST=22;CN=2051;PW=123456;MN=JLYP01_AIR01_0001;Flag=4;CP=&&DataTime=2022051"
    b"3162600;a21004-Avg=4,a21004-Flag=N;a05024-Avg=63,a05024-Flag=N;a21026-Avg=6,a21026-Flag=N;a21005-Avg"
    b"=0.427,a21005-Flag=N;a34004-Avg=14,a34004-Flag=N;a34002-Avg=31,a34002-Flag=N;a01007-Avg=1,a01007-Fla"
    b"g=N;a01008-Avg=11,a01008-Flag=N;a01001-Avg=17,a01001-Flag=N;a01002-Avg=85,a01002-Flag=N;a01006-Avg=9"
    b"5,a01006-Flag=N&&D641"
)

# github:1249993110/IceCoffee.HJ212@510537c8a67e README.md, line 30 (24-character PW)
CN2061 = (
    b"##0285QN=20190925181031464;ST=22;CN=2061;PW=BF470F88957588DE902D1A52;MN=Z13401000010301;Flag=5;CP=&&"
    b"DataTime=20190924220000;a34006-Avg=2.69700,a34006-Flag=N;a34007-Avg=7.96600,a34007-Flag=N;a34048-Avg"
    b"=3.30600,a34048-Flag=N;a34047-Avg=7.35700,a34047-Flag=N;a34049-Avg=10.66300,a34049-Flag=N&&C181"
)

# github:mutoushirana/HJ212Virtual@e0788abf423a Redflag.Slave.Virtual/Redflag.Slave.Virtual/bin/Debug/Logs/Log.txt.12, line 9
CN2021 = (
    b"##0118QN=20210407112025768;ST=21;CN=2021;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&DataTime=2021040711"
    b"2000;SB1-RS=1;SB2-RS=1&&A001"
)

# github:mutoushirana/HJ212Virtual@e0788abf423a Redflag.Slave.Virtual/Redflag.Slave.Virtual/bin/Debug/Logs/Log.txt.12, line 3
CN1013 = b"##0089QN=20210407112025761;ST=21;CN=1013;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&PolId=w01018&&E681"

# github:mutoushirana/HJ212Virtual@e0788abf423a Redflag.Slave.Virtual/Redflag.Slave.Virtual/bin/Debug/Logs/Log.txt.12, a vendor heartbeat (not in HJ 212-2017)
CN9021_HEARTBEAT = b"##0077QN=20210407112025762;ST=21;CN=9021;PW=123456;MN=DXCBZ000000005;Flag=5;CP=&&&&C901"

# github:xiaoyao9184/hj-t212-parser@ac5d822c2ef1 hj-t212-parser/src/test/java/com/xy/format/hbt212/core/deser/PackLevelDeserializerTest.java, line 75: the library's own bad-CRC case (4981 for 4980)
BAD_CRC_EDITED = (
    b"##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rt"
    b"d=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4981"
)

# github:xiaoyao9184/hj-t212-parser@ac5d822c2ef1 README.md, line 44: the README's example, whose CRC belongs to the 139-byte variant
BAD_CRC_README = (
    b"##0136ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817;B01-Rtd=36.91;011-Rtd=2"
    b"31.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980"
)

# github:tonyxia2016/HJ212Receiver@433861a6b1db sources/GB212Service/bin/Debug/rx.log, line 14: a live unit's 868-byte frame with CRC-16/MODBUS low byte first
MODBUS_LE_868 = (
    b"##0868ST=31;CN=2011;PW=123456;MN=4201003;CP=&&DataTime=20200923111707;112-Rtd=11.285,112-Flag=N;121-"
    b"Rtd=27.702,121-Flag=N;023-Rtd=4.372,023-Flag=N;802-Rtd=12.668,802-Flag=N;803-Rtd=4.314,803-Flag=N;80"
    b"8-Rtd=0.000,808-Flag=N;801-Rtd=2.920,801-Flag=N;811-Rtd=266.765,811-Flag=N;810-Rtd=44.881,810-Flag=N"
    b";812-Rtd=1.508,812-Flag=N;806-Rtd=10.850,806-Flag=N;039-Rtd=14.531,039-Flag=N;805-Rtd=23.591,805-Fla"
    b"g=N;817-Rtd=1.583,817-Flag=N;a99949-Rtd=786.913,a99949-Flag=N;a99948-Rtd=267.765,a99948-Flag=N;804-R"
    b"td=140.124,804-Flag=N;040-Rtd=0.000,040-Flag=N;028-Rtd=0.160,028-Flag=N;029-Rtd=4.685,029-Flag=N;030"
    b"-Rtd=40.235,030-Flag=N;041-Rtd=0.000,041-Flag=N;809-Rtd=1.615,809-Flag=N;814-Rtd=4.697,814-Flag=N;03"
    b"8-Rtd=0.881,038-Flag=N;816-Rtd=1.284,816-Flag=N;813-Rtd=2.116,813-Flag=N;033-Rtd=0.000,033-Flag=N;03"
    b"6-Rtd=0.000,036-Flag=N;807-Rtd=0.000,807-Flag=N;815-Rtd=0.721,815-Flag=N&&A6EC"
)

# github:tonyxia2016/HJ212Receiver@433861a6b1db sources/GB212Service/bin/Debug/rx.log, line 22: 1025 bytes (over the standard's 1024), Modbus dialect
MODBUS_LE_OVERSIZE_1025 = (
    b"##1025ST=31;CN=2011;PW=123456;MN=88888880000001;CP=&&DataTime=20200923113557;112-Rtd=13.780,112-Flag"
    b"=N;121-Rtd=41.825,121-Flag=N;126-Rtd=20.732,126-Flag=N;127-Rtd=101.253,127-Flag=N;128-Rtd=32.418,128"
    b"-Flag=N;129-Rtd=0.000,129-Flag=N;130-Rtd=0.000,130-Flag=N;023-Rtd=15.238,023-Flag=N;802-Rtd=304.690,"
    b"802-Flag=N;803-Rtd=312.296,803-Flag=N;808-Rtd=0.743,808-Flag=N;801-Rtd=15.380,801-Flag=N;811-Rtd=485"
    b".335,811-Flag=N;810-Rtd=143.269,810-Flag=N;812-Rtd=5.067,812-Flag=N;806-Rtd=48.871,806-Flag=N;039-Rt"
    b"d=62.235,039-Flag=N;805-Rtd=73.277,805-Flag=N;817-Rtd=1.829,817-Flag=N;a99949-Rtd=2973.719,a99949-Fl"
    b"ag=N;a99948-Rtd=618.459,a99948-Flag=N;804-Rtd=414.454,804-Flag=N;040-Rtd=0.000,040-Flag=N;028-Rtd=50"
    b".803,028-Flag=N;029-Rtd=19.837,029-Flag=N;030-Rtd=60.501,030-Flag=N;041-Rtd=4.109,041-Flag=N;809-Rtd"
    b"=1.667,809-Flag=N;814-Rtd=0.000,814-Flag=N;038-Rtd=0.000,038-Flag=N;816-Rtd=14.621,816-Flag=N;813-Rt"
    b"d=241.456,813-Flag=N;033-Rtd=228.298,033-Flag=N;036-Rtd=777.162,036-Flag=N;807-Rtd=213.272,807-Flag="
    b"N;815-Rtd=1456.821,815-Flag=N&&7865"
)

# github:guocay/hj212-protocol@5a1ac2a779e8 protocol/src/test/java/com/github/guocay/hj212/ApplicationTest.java, line 32: PNO before PNUM, zero-padded, no Flag; its CRC does not match (an edited case of that test)
SPLIT_PNO_FIRST_BAD_CRC = (
    b"##0204QN=20191112091100598;ST=31;CN=2051;PW=123456;MN=14513567846884;PNO=0002;PNUM=0002;CP=&&DataTim"
    b"e=20230327090000;a01006-Avg=101.85,a01006-Min=101.84,a01006-Max=101.87,a01006-ValidNum=10,a01006-Tot"
    b"alNum=10&&2800"
)

# A public Java test (class DataSegmentTest, test01; package of a Spring Boot HJ 212 parser), found by exact-string
# search of a public code index, which does not name its repository. CRC 8BC1 checks.
CN2031 = (
    b"##0277QN=20190813155800001;ST=22;CN=2031;PW=123456;MN=2019051703100020;Flag=5;CP=&&DataTime=20190813"
    b"155800;LAMPBLACK-Avg=6.23,LAMPBLACK-Max=9.66,LAMPBLACK-Min=5.11,LAMPBLACK-Flag=N;PM-Avg=6.23,PM-Max="
    b"9.66,PM-Min=5.11,PM-Flag=N;NMHC-Avg=4.23,NMHC-Max=10.66,NMHC-Min=3.11,NMHC-Flag=N&&8BC1"
)

# A public Go test (package e212, func TestMsg), found by exact-string search of a public code index, which does not
# name its repository: part 1 of 2 of a split 2051 upload, Flag=7 (2017, split, answer). CRC AE41 checks.
CN2051_SPLIT_PART1 = (
    b"##0931QN=20201029122005355;ST=31;CN=2051;PW=123456;MN=WJTHGY91320509703697203A;Flag=7;PNUM=2;PNO=1;C"
    b"P=&&DataTime=20201029121000;a00000-Min=0.000,a00000-Max=0.000,a00000-Avg=0.000,a00000-Cou=0.000,a000"
    b"00-Flag=B;a01011-Min=0.000,a01011-Max=0.000,a01011-Avg=0.000,a01011-Cou=0.000,a01011-Flag=B;a01012-M"
    b"in=0.000,a01012-Max=0.000,a01012-Avg=0.000,a01012-Cou=0.000,a01012-Flag=B;a01013-Min=0.000,a01013-Ma"
    b"x=0.000,a01013-Avg=0.000,a01013-Cou=0.000,a01013-Flag=B;a01014-Min=0.000,a01014-Max=0.000,a01014-Avg"
    b"=0.000,a01014-Cou=0.000,a01014-Flag=B;a19001-Min=0.000,a19001-Max=0.000,a19001-Avg=0.000,a19001-Cou="
    b"0.000,a19001-Flag=B;a21002-Min=0.000,a21002-Max=0.000,a21002-Avg=0.000,a21002-Cou=0.000,a21002-ZsMin"
    b"=0.000,a21002-ZsMax=0.000,a21002-ZsAvg=0.000,a21002-ZsCou=0.000,a21002-Flag=B;a21005-Min=0.000,a2100"
    b"5-Max=0.000,a21005-Avg=0.000,a21005-Cou=0.000,a21005-ZsMin=0.000,a21005-ZsMax=0.000,a21005-ZsAvg=0.0"
    b"00,a21005-ZsCou=0.000,a21005-Flag=B&&AE41"
)

# A public Java file (class cn.bocon.server.common.DataPackageUtils, main()), found the same way: part 1 of a split
# 2051 upload, 1045 bytes (over 1024), Flag=2 (2005, split). CRC AB41 checks.
CN2051_SPLIT_OVERSIZE_1045 = (
    b"##1045ST=31;CN=2051;PW=123456;MN=756877X7916010;Flag=2;PNUM=2;PNO=1;CP=&&DataTime=20180303102200;B02"
    b"-Min=0.0000,B02-Avg=0.0000,B02-Max=0.0000,B02-Cou=0.0000,B02-Flag=D;30-Min=109.8557,30-Avg=109.8712,"
    b"30-Max=109.8885,30-Cou=0.0000,30-Flag=N;31-Min=103.4228,31-Avg=103.4489,31-Max=103.4723,31-Cou=0.000"
    b"0,31-Flag=N;32-Min=102.8947,32-Avg=102.9123,32-Max=102.9281,32-Cou=0.0000,32-Flag=N;33-Min=1003.0443"
    b",33-Avg=1003.0705,33-Max=1003.0940,33-Cou=0.0000,33-Flag=T;34-Min=1003.1765,34-Avg=1003.1824,34-Max="
    b"1003.2093,34-Cou=0.0000,34-Flag=T;35-Min=102.8606,35-Avg=102.8729,35-Max=102.8770,35-Cou=0.0000,35-F"
    b"lag=N;36-Min=102.9935,36-Avg=103.0101,36-Max=103.0268,36-Cou=0.0000,36-Flag=N;37-Min=103.2597,37-Avg"
    b"=103.2753,37-Max=103.2928,37-Cou=0.0000,37-Flag=N;01-Min=0.00,01-Avg=0.00,01-Max=0.00,01-Cou=0.00,01"
    b"-ZsMin=0.00,01-ZsAvg=0.00,01-ZsMax=0.00,01-Flag=D;02-Min=0.00,02-Avg=0.00,02-Max=0.00,02-Cou=0.00,02"
    b"-ZsMin=0.00,02-ZsAvg=0.00,02-ZsMax=0.00,02-Flag=D;03-Min=0.00,03-Avg=0.00,03-Max=0.00,03-Cou=0.00,03"
    b"-ZsMin=0.00,03-ZsAvg=0.00,03-ZsMax=0.00,03-Flag=D&&AB41"
)

# The same Go test (package e212, func TestReg3): a 2081 frame whose length field says 131 but whose data segment
# has 137 bytes (its CRC is lower-case).
LENGTH_MISMATCH = b"##0131QN=20200428102058322;ST=31;CN=2081;PW=123456;MN=MYHJ00000000000080011128;Flag=4;CP=&&DataTime=20200428102058;RestartTime=20200428100633&&47c0"

# HJ 212-2017 Table C.50 (PDF page 63): the two parts of a split hourly upload, with the standard's "…" left out.
# The standard prints data segments only, so the length and CRC of these two are computed here (answers.wrap):
# they test reassembly, not the CRC.
C50_PART1 = (
    "QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=2;PNO=1;"
    "CP=&&DataTime=20160801080000;w00000-Cou=63.0,w00000-Min=16.4,w00000-Avg=17.5,w00000-Max=20.1,w00000-Flag=N;"
    "w01001-Min=7.1,w01001-Avg=7.5,w01001-Max=7.8,w01001-Flag=N&&")
C50_PART2 = (
    "QN=20160801085857535;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=7;PNUM=2;PNO=2;"
    "CP=&&DataTime=20160801080000;w01018-Cou=63.0,w01018-Min=40.1,w01018-Avg=40.1,w01018-Max=40.1,w01018-Flag=N&&")
