<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>CabinTile</name>
    <message numerus="yes">
        <source>+ %n earlier call(s)</source>
        <translation>
            <numerusform>+ %n earlier call</numerusform>
            <numerusform>+ %n earlier calls</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>FirstRunDialog</name>
    <message numerus="yes">
        <source>The password needs at least %n characters.</source>
        <translation>
            <numerusform>The password needs at least %n character.</numerusform>
            <numerusform>The password needs at least %n characters.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>HistoryDialog</name>
    <message numerus="yes">
        <source>%n paid session(s)</source>
        <translation>
            <numerusform>%n paid session</numerusform>
            <numerusform>%n paid sessions</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>%n call</numerusform>
            <numerusform>%n calls</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>%n answered</numerusform>
            <numerusform>%n answered</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>InvoiceViewer</name>
    <message numerus="yes">
        <source>%n pages</source>
        <translation>
            <numerusform>%n page</numerusform>
            <numerusform>%n pages</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message numerus="yes">
        <source>Too many failed attempts. Wait %n second(s).</source>
        <translation>
            <numerusform>Too many failed attempts. Wait %n second.</numerusform>
            <numerusform>Too many failed attempts. Wait %n seconds.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message numerus="yes">
        <source>%n cabin(s)</source>
        <translation>
            <numerusform>%n cabin</numerusform>
            <numerusform>%n cabins</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n in use</source>
        <translation>
            <numerusform>%n in use</numerusform>
            <numerusform>%n in use</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n to pay</source>
        <translation>
            <numerusform>%n to pay</numerusform>
            <numerusform>%n to pay</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PayDialog</name>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>%n call</numerusform>
            <numerusform>%n calls</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>%n answered</numerusform>
            <numerusform>%n answered</numerusform>
        </translation>
    </message>
</context>
</TS>
