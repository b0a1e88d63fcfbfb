<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ar" sourcelanguage="en">
<context>
    <name>AutoReceipt</name>
    <message>
        <source>The receipt was not printed: it could not be fetched from the server (%1). The payment is recorded.</source>
        <translation>لم تتم طباعة الإيصال: تعذّر جلبه من الخادم (%1). تم تسجيل الدفع.</translation>
    </message>
</context>
<context>
    <name>CabinTile</name>
    <message>
        <source>Free</source>
        <translation>متاحة</translation>
    </message>
    <message>
        <source>In use</source>
        <translation>مشغولة</translation>
    </message>
    <message>
        <source>To pay</source>
        <translation>للدفع</translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>معطّلة</translation>
    </message>
    <message>
        <source>No line</source>
        <translation>لا يوجد خط</translation>
    </message>
    <message>
        <source>Dialing</source>
        <translation>جارٍ الطلب</translation>
    </message>
    <message>
        <source>Ringing</source>
        <translation>يرنّ</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>متصل</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>انتهت</translation>
    </message>
    <message>
        <source>Not answered</source>
        <translation>لم يتم الرد</translation>
    </message>
    <message>
        <source>Cut</source>
        <translation>قُطعت</translation>
    </message>
    <message>
        <source>Pay</source>
        <translation>دفع</translation>
    </message>
    <message>
        <source>Pay this cabin (Enter)</source>
        <translation>تحصيل دفع هذه الكابينة (Enter)</translation>
    </message>
    <message>
        <source>Past sessions of this cabin (H)</source>
        <translation>الجلسات السابقة لهذه الكابينة (H)</translation>
    </message>
    <message>
        <source>Invoice for this payment (I)</source>
        <translation>فاتورة لهذا الدفع (I)</translation>
    </message>
    <message>
        <source>A call is still running in this cabin</source>
        <translation>لا تزال هناك مكالمة جارية في هذه الكابينة</translation>
    </message>
    <message>
        <source>Stale</source>
        <translation>غير محدَّثة</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>جاهزة</translation>
    </message>
    <message>
        <source>Out of service</source>
        <translation>خارج الخدمة</translation>
    </message>
    <message>
        <source>Switch unreachable</source>
        <translation>المقسم الهاتفي غير متاح</translation>
    </message>
    <message>
        <source>TOTAL</source>
        <translation>المجموع</translation>
    </message>
    <message numerus="yes">
        <source>+ %n earlier call(s)</source>
        <translation>
            <numerusform>+ %n مكالمة سابقة</numerusform>
            <numerusform>+ مكالمة سابقة واحدة</numerusform>
            <numerusform>+ مكالمتان سابقتان</numerusform>
            <numerusform>+ %n مكالمات سابقة</numerusform>
            <numerusform>+ %n مكالمة سابقة</numerusform>
            <numerusform>+ %n مكالمة سابقة</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Desk</name>
    <message>
        <source>Starting the server…</source>
        <extracomment>Set by the cold-start benchmark: print when the login window is up, then quit.</extracomment>
        <translation>جارٍ تشغيل الخادم…</translation>
    </message>
    <message>
        <source>Connecting to the server…</source>
        <translation>جارٍ الاتصال بالخادم…</translation>
    </message>
    <message>
        <source>The server could not be started: %1</source>
        <translation>تعذّر تشغيل الخادم: %1</translation>
    </message>
    <message>
        <source>The server cannot be reached: %1</source>
        <translation>لا يمكن الوصول إلى الخادم: %1</translation>
    </message>
    <message>
        <source>Retrying…</source>
        <translation>جارٍ إعادة المحاولة…</translation>
    </message>
    <message>
        <source>Cash desk</source>
        <translation>الصندوق</translation>
    </message>
    <message>
        <source>The server stopped: %1</source>
        <translation>توقّف الخادم: %1</translation>
    </message>
</context>
<context>
    <name>FirstRunDialog</name>
    <message>
        <source>New shop</source>
        <translation>محل جديد</translation>
    </message>
    <message>
        <source>Welcome</source>
        <translation>مرحبًا</translation>
    </message>
    <message>
        <source>This till has no shop yet. Name it and choose the owner&apos;s login; cashiers are added later by the owner.</source>
        <translation>لا يوجد محل مرتبط بهذا الصندوق بعد. اختر له اسمًا واختر اسم مستخدم المالك؛ يضيف المالك أمناء الصندوق لاحقًا.</translation>
    </message>
    <message>
        <source>Shop name</source>
        <translation>اسم المحل</translation>
    </message>
    <message>
        <source>Currency</source>
        <translation>العملة</translation>
    </message>
    <message>
        <source>Time zone</source>
        <translation>المنطقة الزمنية</translation>
    </message>
    <message>
        <source>Owner&apos;s login</source>
        <translation>اسم مستخدم المالك</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>كلمة المرور</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>تأكيد كلمة المرور</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>خروج</translation>
    </message>
    <message>
        <source>Create the shop</source>
        <translation>إنشاء المحل</translation>
    </message>
    <message>
        <source>Name the shop and the owner&apos;s login.</source>
        <translation>أدخل اسم المحل واسم مستخدم المالك.</translation>
    </message>
    <message numerus="yes">
        <source>The password needs at least %n characters.</source>
        <translation>
            <numerusform>يجب أن تتكوّن كلمة المرور من %n حرف على الأقل.</numerusform>
            <numerusform>يجب أن تتكوّن كلمة المرور من حرف واحد على الأقل.</numerusform>
            <numerusform>يجب أن تتكوّن كلمة المرور من حرفين على الأقل.</numerusform>
            <numerusform>يجب أن تتكوّن كلمة المرور من %n أحرف على الأقل.</numerusform>
            <numerusform>يجب أن تتكوّن كلمة المرور من %n حرفًا على الأقل.</numerusform>
            <numerusform>يجب أن تتكوّن كلمة المرور من %n حرف على الأقل.</numerusform>
        </translation>
    </message>
    <message>
        <source>The two passwords differ.</source>
        <translation>كلمتا المرور غير متطابقتين.</translation>
    </message>
    <message>
        <source>The shop could not be created: %1</source>
        <translation>تعذّر إنشاء المحل: %1</translation>
    </message>
</context>
<context>
    <name>Formatter</name>
    <message>
        <source>%1/min</source>
        <extracomment>Language code → its own name (shown in the language chooser, never translated). The Babel locale used for money per language (the shop&apos;s currency, the cashier&apos;s language). Unicode bidi isolates (UAX #9): LRI…PDI keeps numbers, phone numbers and durations left-to-right inside Arabic text; FSI…PDI makes a value (an amount, a name) one block with its own direction, so it never mixes with the sentence around it.</extracomment>
        <translation>%1/دقيقة</translation>
    </message>
</context>
<context>
    <name>HistoryDialog</name>
    <message>
        <source>Cabin history</source>
        <translation>سجل الكابينة</translation>
    </message>
    <message>
        <source>TRAINING — sessions of the training shop</source>
        <translation>تدريب — جلسات المحل التدريبي</translation>
    </message>
    <message>
        <source>History — %1</source>
        <translation>السجل — %1</translation>
    </message>
    <message>
        <source>When</source>
        <translation>التاريخ</translation>
    </message>
    <message>
        <source>Calls</source>
        <translation>المكالمات</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>المدة</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>المبلغ</translation>
    </message>
    <message>
        <source>Operator</source>
        <translation>أمين الصندوق</translation>
    </message>
    <message>
        <source>Invoice</source>
        <translation>الفاتورة</translation>
    </message>
    <message>
        <source>Load older sessions</source>
        <translation>تحميل الجلسات الأقدم</translation>
    </message>
    <message>
        <source>Close (Esc)</source>
        <translation>إغلاق (Esc)</translation>
    </message>
    <message>
        <source>The history could not be loaded: %1</source>
        <translation>تعذّر تحميل السجل: %1</translation>
    </message>
    <message>
        <source>No paid session yet.</source>
        <translation>لا توجد جلسات مدفوعة بعد.</translation>
    </message>
    <message numerus="yes">
        <source>%n paid session(s)</source>
        <translation>
            <numerusform>لا توجد جلسات مدفوعة</numerusform>
            <numerusform>جلسة مدفوعة واحدة</numerusform>
            <numerusform>جلستان مدفوعتان</numerusform>
            <numerusform>%n جلسات مدفوعة</numerusform>
            <numerusform>%n جلسة مدفوعة</numerusform>
            <numerusform>%n جلسة مدفوعة</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>لا مكالمات</numerusform>
            <numerusform>مكالمة واحدة</numerusform>
            <numerusform>مكالمتان</numerusform>
            <numerusform>%n مكالمات</numerusform>
            <numerusform>%n مكالمة</numerusform>
            <numerusform>%n مكالمة</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>لا مكالمة مُجابة</numerusform>
            <numerusform>مكالمة مُجابة واحدة</numerusform>
            <numerusform>مكالمتان مُجابتان</numerusform>
            <numerusform>%n مكالمات مُجابة</numerusform>
            <numerusform>%n مكالمة مُجابة</numerusform>
            <numerusform>%n مكالمة مُجابة</numerusform>
        </translation>
    </message>
    <message>
        <source>Received %1, change %2</source>
        <translation>المستلم %1، الباقي %2</translation>
    </message>
    <message>
        <source>Invoice %1 — press Enter to open it</source>
        <translation>الفاتورة %1 — اضغط Enter لفتحها</translation>
    </message>
    <message>
        <source>%1 per minute</source>
        <translation>%1 للدقيقة</translation>
    </message>
</context>
<context>
    <name>InvoiceMiniature</name>
    <message>
        <source>✕</source>
        <extracomment>The page picture is on screen (tests and screenshots wait for it). The invoice could not be downloaded or read; the text is for the cashier. The full viewer was opened (the dialog is passed along). The cashier dismissed the card.</extracomment>
        <translation>✕</translation>
    </message>
    <message>
        <source>Close the invoice preview</source>
        <translation>إغلاق معاينة الفاتورة</translation>
    </message>
    <message>
        <source>Open the invoice</source>
        <translation>فتح الفاتورة</translation>
    </message>
    <message>
        <source>Click to open, print or save</source>
        <translation>انقر للفتح أو الطباعة أو الحفظ</translation>
    </message>
    <message>
        <source>Downloading the invoice…</source>
        <translation>جارٍ تنزيل الفاتورة…</translation>
    </message>
    <message>
        <source>Preparing the invoice…</source>
        <translation>جارٍ إعداد الفاتورة…</translation>
    </message>
    <message>
        <source>The invoice cannot be shown.</source>
        <translation>لا يمكن عرض الفاتورة.</translation>
    </message>
    <message>
        <source>The invoice cannot be shown: %1</source>
        <translation>لا يمكن عرض الفاتورة: %1</translation>
    </message>
</context>
<context>
    <name>InvoiceSettingsDialog</name>
    <message>
        <source>Invoice settings</source>
        <translation>إعدادات الفواتير</translation>
    </message>
    <message>
        <source>What the shop&apos;s invoices and receipts say about it. Invoices already issued keep what they were printed with.</source>
        <translation>ما تذكره الفواتير والإيصالات عن المحل. تحتفظ الفواتير الصادرة سابقًا بما طُبعت به.</translation>
    </message>
    <message>
        <source>The shop</source>
        <translation>المحل</translation>
    </message>
    <message>
        <source>Invoices</source>
        <translation>الفواتير</translation>
    </message>
    <message>
        <source>&amp;Company name</source>
        <translation>&amp;اسم الشركة</translation>
    </message>
    <message>
        <source>&amp;Address</source>
        <translation>ال&amp;عنوان</translation>
    </message>
    <message>
        <source>&amp;Tax id</source>
        <translation>ال&amp;رقم الضريبي</translation>
    </message>
    <message>
        <source>&amp;VAT rate</source>
        <translation>&amp;نسبة ضريبة القيمة المضافة</translation>
    </message>
    <message>
        <source>Logo</source>
        <translation>الشعار</translation>
    </message>
    <message>
        <source>Number &amp;prefix</source>
        <translation>&amp;بادئة الرقم</translation>
    </message>
    <message>
        <source>&amp;Digits</source>
        <translation>عدد ال&amp;خانات</translation>
    </message>
    <message>
        <source>&amp;Next number</source>
        <translation>الرقم ال&amp;تالي</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>ال&amp;لغة</translation>
    </message>
    <message>
        <source>&amp;Footer</source>
        <translation>ت&amp;ذييل</translation>
    </message>
    <message>
        <source>As registered, e.g. Taxiphone de la Gare</source>
        <translation>كما هو مسجّل، مثلًا: اتصالات المحطة</translation>
    </message>
    <message>
        <source>Street, town — one line each</source>
        <translation>الشارع، المدينة — كلٌّ في سطر</translation>
    </message>
    <message>
        <source>e.g. FR40123456824</source>
        <translation>مثلًا: FR40123456824</translation>
    </message>
    <message>
        <source>Prices include VAT</source>
        <translation>الأسعار شاملة للضريبة</translation>
    </message>
    <message>
        <source>Ticked: the rates are what customers pay, VAT included. Unticked: VAT is added on top of them.</source>
        <translation>عند التحديد: الأسعار هي ما يدفعه الزبائن شاملةً الضريبة. دون تحديد: تُضاف الضريبة إليها.</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>ت&amp;صفح…</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>إ&amp;زالة</translation>
    </message>
    <message>
        <source>A PNG or JPEG picture of at most %1 KB, printed at the top of every invoice.</source>
        <translation>صورة PNG أو JPEG بحجم %1 كيلوبايت على الأكثر، تُطبع أعلى كل فاتورة.</translation>
    </message>
    <message>
        <source>e.g. INV-</source>
        <translation>مثلًا: INV-</translation>
    </message>
    <message>
        <source>Put the &amp;year in the number</source>
        <translation>إضافة ال&amp;سنة إلى الرقم</translation>
    </message>
    <message>
        <source>The number is padded with zeros to this many digits (0: no padding).</source>
        <translation>يُكمَّل الرقم بأصفار حتى هذا العدد من الخانات (0: دون أصفار).</translation>
    </message>
    <message>
        <source>It can change only until the first invoice is issued: numbers must have no gaps.</source>
        <translation>لا يمكن تغييره إلا قبل إصدار أول فاتورة: يجب أن تكون الأرقام متتالية دون فجوات.</translation>
    </message>
    <message>
        <source>e.g. Thank you for your visit</source>
        <translation>مثلًا: شكرًا لزيارتكم</translation>
    </message>
    <message>
        <source>The language invoices and receipts are printed in</source>
        <translation>اللغة التي تُطبع بها الفواتير والإيصالات</translation>
    </message>
    <message>
        <source>Cancel (Esc)</source>
        <translation>إلغاء (Esc)</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>إعادة المحاولة</translation>
    </message>
    <message>
        <source>Save (Enter)</source>
        <translation>حفظ (Enter)</translation>
    </message>
    <message>
        <source>The invoice settings could not be loaded: %1</source>
        <translation>تعذّر تحميل إعدادات الفواتير: %1</translation>
    </message>
    <message>
        <source>Next invoice: %1</source>
        <translation>الفاتورة التالية: %1</translation>
    </message>
    <message>
        <source>Choose the logo</source>
        <translation>اختيار الشعار</translation>
    </message>
    <message>
        <source>Images (*.png *.jpg *.jpeg)</source>
        <translation>صور (*.png *.jpg *.jpeg)</translation>
    </message>
    <message>
        <source>This picture is %1 KB; a logo can be at most %2 KB. Save it smaller (about 600 pixels wide is plenty) and choose it again.</source>
        <translation>حجم هذه الصورة %1 كيلوبايت، والحد الأقصى للشعار %2 كيلوبايت. احفظها بحجم أصغر (عرض 600 بكسل تقريبًا يكفي) ثم اخترها من جديد.</translation>
    </message>
    <message>
        <source>This file is not a PNG or JPEG picture. Choose a logo saved as PNG or JPEG.</source>
        <translation>هذا الملف ليس صورة PNG أو JPEG. اختر شعارًا محفوظًا بصيغة PNG أو JPEG.</translation>
    </message>
    <message>
        <source>The file could not be read: %1</source>
        <translation>تعذّرت قراءة الملف: %1</translation>
    </message>
    <message>
        <source>No logo</source>
        <translation>لا يوجد شعار</translation>
    </message>
    <message>
        <source>A logo the desk cannot show</source>
        <translation>شعار لا يستطيع الصندوق عرضه</translation>
    </message>
    <message>
        <source>Enter the VAT rate in percent, e.g. %1 (0 when the shop charges no VAT).</source>
        <translation>أدخل نسبة الضريبة بالمئة، مثلًا %1 (0 إذا كان المحل لا يفرض ضريبة).</translation>
    </message>
    <message>
        <source>The settings were not saved: %1</source>
        <translation>لم يتم حفظ الإعدادات: %1</translation>
    </message>
    <message>
        <source>Loading the invoice settings…</source>
        <translation>جارٍ تحميل إعدادات الفواتير…</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>جارٍ الحفظ…</translation>
    </message>
</context>
<context>
    <name>InvoiceViewer</name>
    <message>
        <source>Invoice pages</source>
        <extracomment>The job finished: pages printed, and whether a PDF file got the invoice itself. The invoice was written to this path. Printing or saving failed; the message was shown to the cashier.</extracomment>
        <translation>صفحات الفاتورة</translation>
    </message>
    <message>
        <source>−</source>
        <translation>−</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>تصغير</translation>
    </message>
    <message>
        <source>+</source>
        <translation>+</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>تكبير</translation>
    </message>
    <message>
        <source>Fit width</source>
        <translation>ملاءمة العرض</translation>
    </message>
    <message>
        <source>Fit the page width to the window</source>
        <translation>ملاءمة عرض الصفحة مع النافذة</translation>
    </message>
    <message>
        <source>Whole page</source>
        <translation>الصفحة كاملة</translation>
    </message>
    <message>
        <source>Show whole pages</source>
        <translation>عرض الصفحات كاملة</translation>
    </message>
    <message>
        <source>Save as…</source>
        <translation>حفظ باسم…</translation>
    </message>
    <message>
        <source>Save the invoice as a PDF file</source>
        <translation>حفظ الفاتورة كملف PDF</translation>
    </message>
    <message>
        <source>Print…</source>
        <translation>طباعة…</translation>
    </message>
    <message>
        <source>Print the invoice</source>
        <translation>طباعة الفاتورة</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>إغلاق</translation>
    </message>
    <message>
        <source>Close the invoice (Esc)</source>
        <translation>إغلاق الفاتورة (Esc)</translation>
    </message>
    <message>
        <source>This invoice cannot be shown: the file is damaged.</source>
        <translation>لا يمكن عرض هذه الفاتورة: الملف تالف.</translation>
    </message>
    <message>
        <source>1 page</source>
        <translation>صفحة واحدة</translation>
    </message>
    <message numerus="yes">
        <source>%n pages</source>
        <translation>
            <numerusform>%n صفحة</numerusform>
            <numerusform>صفحة واحدة</numerusform>
            <numerusform>صفحتان</numerusform>
            <numerusform>%n صفحات</numerusform>
            <numerusform>%n صفحة</numerusform>
            <numerusform>%n صفحة</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 %</source>
        <translation>%1%</translation>
    </message>
    <message>
        <source>Print invoice</source>
        <translation>طباعة الفاتورة</translation>
    </message>
    <message>
        <source>Printing…</source>
        <translation>جارٍ الطباعة…</translation>
    </message>
    <message>
        <source>The invoice was saved as a PDF file.</source>
        <translation>تم حفظ الفاتورة كملف PDF.</translation>
    </message>
    <message>
        <source>The invoice was sent to the printer.</source>
        <translation>تم إرسال الفاتورة إلى الطابعة.</translation>
    </message>
    <message>
        <source>The invoice was not printed: %1</source>
        <translation>لم تتم طباعة الفاتورة: %1</translation>
    </message>
    <message>
        <source>Save invoice</source>
        <translation>حفظ الفاتورة</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>ملفات PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>جارٍ الحفظ…</translation>
    </message>
    <message>
        <source>Saved as %1</source>
        <translation>تم الحفظ باسم %1</translation>
    </message>
    <message>
        <source>The invoice was not saved: %1</source>
        <translation>لم يتم حفظ الفاتورة: %1</translation>
    </message>
    <message>
        <source>Invoice</source>
        <translation>فاتورة</translation>
    </message>
    <message>
        <source>The invoice could not be opened: %1</source>
        <translation>تعذّر فتح الفاتورة: %1</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Cash desk — log in</source>
        <extracomment>A message shown on the login: a text, or a function that writes it in the current language (so a language chosen while it shows re-writes it at once).</extracomment>
        <translation>الصندوق — تسجيل الدخول</translation>
    </message>
    <message>
        <source>Cash desk</source>
        <translation>الصندوق</translation>
    </message>
    <message>
        <source>Log in to start your shift</source>
        <translation>سجّل الدخول لبدء مناوبتك</translation>
    </message>
    <message>
        <source>TRAINING SHOP — practice only, no real money</source>
        <translation>محل تدريبي — للتمرين فقط، دون أموال حقيقية</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>اللغة</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>اسم المستخدم</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>كلمة المرور</translation>
    </message>
    <message>
        <source>Log in (Enter)</source>
        <translation>تسجيل الدخول (Enter)</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>خروج</translation>
    </message>
    <message>
        <source>Logging in…</source>
        <translation>جارٍ تسجيل الدخول…</translation>
    </message>
    <message>
        <source>Connected to the server.</source>
        <translation>متصل بالخادم.</translation>
    </message>
    <message>
        <source>Starting the server…</source>
        <translation>جارٍ تشغيل الخادم…</translation>
    </message>
    <message>
        <source>Type your user name and password.</source>
        <translation>اكتب اسم المستخدم وكلمة المرور.</translation>
    </message>
    <message numerus="yes">
        <source>Too many failed attempts. Wait %n second(s).</source>
        <translation>
            <numerusform>محاولات فاشلة كثيرة. انتظر %n ثانية.</numerusform>
            <numerusform>محاولات فاشلة كثيرة. انتظر ثانية واحدة.</numerusform>
            <numerusform>محاولات فاشلة كثيرة. انتظر ثانيتين.</numerusform>
            <numerusform>محاولات فاشلة كثيرة. انتظر %n ثوانٍ.</numerusform>
            <numerusform>محاولات فاشلة كثيرة. انتظر %n ثانية.</numerusform>
            <numerusform>محاولات فاشلة كثيرة. انتظر %n ثانية.</numerusform>
        </translation>
    </message>
    <message>
        <source>Wrong user name or password.</source>
        <translation>اسم المستخدم أو كلمة المرور غير صحيحة.</translation>
    </message>
    <message>
        <source>The server cannot be reached. It will be retried.</source>
        <translation>لا يمكن الوصول إلى الخادم. ستُعاد المحاولة تلقائيًا.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Cash desk</source>
        <translation>الصندوق</translation>
    </message>
    <message>
        <source>&amp;Cabin</source>
        <translation>&amp;كابينة</translation>
    </message>
    <message>
        <source>&amp;Shift</source>
        <translation>&amp;مناوبة</translation>
    </message>
    <message>
        <source>Se&amp;ttings</source>
        <translation>&amp;إعدادات</translation>
    </message>
    <message>
        <source>&amp;Invoice settings…</source>
        <translation>إعدادات ال&amp;فواتير…</translation>
    </message>
    <message>
        <source>&amp;Receipt printer…</source>
        <translation>&amp;طابعة الإيصالات…</translation>
    </message>
    <message>
        <source>Pay the selected cabin</source>
        <translation>تحصيل دفع الكابينة المحددة</translation>
    </message>
    <message>
        <source>Invoice for the selected cabin</source>
        <translation>فاتورة للكابينة المحددة</translation>
    </message>
    <message>
        <source>History of the selected cabin</source>
        <translation>سجل الكابينة المحددة</translation>
    </message>
    <message>
        <source>Log off (end my shift)</source>
        <translation>تسجيل الخروج (إنهاء مناوبتي)</translation>
    </message>
    <message>
        <source>Keys: 1–64 or F1–F12 select a cabin · arrows move · Enter pay · I invoice · H history · Ctrl+L log off</source>
        <translation>المفاتيح: ⁦1–64⁩ أو ⁦F1–F12⁩ لاختيار كابينة · الأسهم للتنقل · Enter للدفع · I فاتورة · H السجل · Ctrl+L تسجيل الخروج</translation>
    </message>
    <message>
        <source>TRAINING MODE — simulated customers, no real money is taken</source>
        <translation>وضع التدريب — زبائن افتراضيون، لا تُحصَّل أموال حقيقية</translation>
    </message>
    <message>
        <source>TRAINING</source>
        <translation>تدريب</translation>
    </message>
    <message>
        <source>Your login has ended: please log in again.</source>
        <translation>انتهت جلستك: يرجى تسجيل الدخول مجددًا.</translation>
    </message>
    <message>
        <source>● %1 on shift</source>
        <translation>● %1 في المناوبة</translation>
    </message>
    <message>
        <source>Logged in since %1 — Ctrl+L to log off</source>
        <translation>متصل منذ %1 — Ctrl+L لتسجيل الخروج</translation>
    </message>
    <message>
        <source>Nobody logged in</source>
        <translation>لم يسجّل أحد الدخول</translation>
    </message>
    <message>
        <source>Credit %1</source>
        <translation>الرصيد %1</translation>
    </message>
    <message>
        <source>Prepaid credit available for calls</source>
        <translation>الرصيد المدفوع مسبقًا المتاح للمكالمات</translation>
    </message>
    <message numerus="yes">
        <source>%n cabin(s)</source>
        <translation>
            <numerusform>لا كابينات</numerusform>
            <numerusform>كابينة واحدة</numerusform>
            <numerusform>كابينتان</numerusform>
            <numerusform>%n كابينات</numerusform>
            <numerusform>%n كابينة</numerusform>
            <numerusform>%n كابينة</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n in use</source>
        <translation>
            <numerusform>%n مشغولة</numerusform>
            <numerusform>%n مشغولة</numerusform>
            <numerusform>%n مشغولتان</numerusform>
            <numerusform>%n مشغولة</numerusform>
            <numerusform>%n مشغولة</numerusform>
            <numerusform>%n مشغولة</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n to pay</source>
        <translation>
            <numerusform>%n بانتظار الدفع</numerusform>
            <numerusform>%n بانتظار الدفع</numerusform>
            <numerusform>%n بانتظار الدفع</numerusform>
            <numerusform>%n بانتظار الدفع</numerusform>
            <numerusform>%n بانتظار الدفع</numerusform>
            <numerusform>%n بانتظار الدفع</numerusform>
        </translation>
    </message>
    <message>
        <source>● Server: live</source>
        <translation>● الخادم: مباشر</translation>
    </message>
    <message>
        <source>Connected to the server; the tiles are live.</source>
        <translation>متصل بالخادم؛ الكابينات محدَّثة مباشرة.</translation>
    </message>
    <message>
        <source>● Server: connecting…</source>
        <translation>● الخادم: جارٍ الاتصال…</translation>
    </message>
    <message>
        <source>● Server: unreachable</source>
        <translation>● الخادم: غير متاح</translation>
    </message>
    <message>
        <source>● Phones: OK</source>
        <translation>● الهواتف: تعمل</translation>
    </message>
    <message>
        <source>The telephone switch (%1) is connected.</source>
        <translation>المقسم الهاتفي (%1) متصل.</translation>
    </message>
    <message>
        <source>● Phones: unreachable</source>
        <translation>● الهواتف: غير متاحة</translation>
    </message>
    <message>
        <source>The telephone switch (%1) does not answer: no call can be made.</source>
        <translation>المقسم الهاتفي (%1) لا يستجيب: لا يمكن إجراء أي مكالمة.</translation>
    </message>
    <message>
        <source>Connection to the server lost — the tiles show the last known state and are not live. Reconnecting…</source>
        <translation>انقطع الاتصال بالخادم — تعرض الكابينات آخر حالة معروفة وليست محدَّثة. جارٍ إعادة الاتصال…</translation>
    </message>
    <message>
        <source>Connecting to the server…</source>
        <translation>جارٍ الاتصال بالخادم…</translation>
    </message>
    <message>
        <source>%1 paid — change %2</source>
        <translation>تم دفع %1 — الباقي %2</translation>
    </message>
    <message>
        <source>Invoice %1</source>
        <translation>الفاتورة %1</translation>
    </message>
    <message>
        <source>Invoice of payment %1</source>
        <translation>فاتورة الدفعة %1</translation>
    </message>
    <message>
        <source>Invoice settings saved.</source>
        <translation>تم حفظ إعدادات الفواتير.</translation>
    </message>
    <message>
        <source>Receipt printer settings saved.</source>
        <translation>تم حفظ إعدادات طابعة الإيصالات.</translation>
    </message>
    <message>
        <source>Something failed: %1</source>
        <translation>حدث خطأ: %1</translation>
    </message>
</context>
<context>
    <name>PayDialog</name>
    <message>
        <source>Pay</source>
        <extracomment>Banknotes a customer typically hands over, per currency (the rest: these).</extracomment>
        <translation>الدفع</translation>
    </message>
    <message>
        <source>TRAINING — no real money is taken</source>
        <translation>تدريب — لا تُحصَّل أموال حقيقية</translation>
    </message>
    <message>
        <source>AMOUNT DUE</source>
        <translation>المبلغ المستحق</translation>
    </message>
    <message>
        <source>CASH RECEIVED</source>
        <translation>النقد المستلم</translation>
    </message>
    <message>
        <source>CHANGE TO GIVE</source>
        <translation>الباقي للزبون</translation>
    </message>
    <message>
        <source>Exact</source>
        <translation>المبلغ بالضبط</translation>
    </message>
    <message>
        <source>The customer gives the exact amount</source>
        <translation>يدفع الزبون المبلغ بالضبط</translation>
    </message>
    <message>
        <source>Print an invoice (Alt+I)</source>
        <translation>طباعة فاتورة (Alt+I)</translation>
    </message>
    <message>
        <source>Cancel (Esc)</source>
        <translation>إلغاء (Esc)</translation>
    </message>
    <message>
        <source>Pay (Enter)</source>
        <translation>الدفع (Enter)</translation>
    </message>
    <message>
        <source>Pay — %1</source>
        <translation>الدفع — %1</translation>
    </message>
    <message>
        <source>Nothing to pay: this session is closed (paid at another desk?).</source>
        <translation>لا شيء للدفع: هذه الجلسة مغلقة (هل دُفعت في صندوق آخر؟).</translation>
    </message>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>لا مكالمات</numerusform>
            <numerusform>مكالمة واحدة</numerusform>
            <numerusform>مكالمتان</numerusform>
            <numerusform>%n مكالمات</numerusform>
            <numerusform>%n مكالمة</numerusform>
            <numerusform>%n مكالمة</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>لا مكالمة مُجابة</numerusform>
            <numerusform>مكالمة مُجابة واحدة</numerusform>
            <numerusform>مكالمتان مُجابتان</numerusform>
            <numerusform>%n مكالمات مُجابة</numerusform>
            <numerusform>%n مكالمة مُجابة</numerusform>
            <numerusform>%n مكالمة مُجابة</numerusform>
        </translation>
    </message>
    <message>
        <source>opened at %1</source>
        <translation>فُتحت الساعة %1</translation>
    </message>
    <message>
        <source>A call is still running in this cabin (%1). It cannot be paid until it ends.</source>
        <translation>لا تزال هناك مكالمة جارية في هذه الكابينة (%1). لا يمكن الدفع قبل انتهائها.</translation>
    </message>
    <message>
        <source>The connection to the server is lost: the figures may be out of date.</source>
        <translation>انقطع الاتصال بالخادم: قد لا تكون الأرقام محدَّثة.</translation>
    </message>
    <message>
        <source>Received: %1</source>
        <translation>المستلم: %1</translation>
    </message>
    <message>
        <source>STILL MISSING</source>
        <translation>المبلغ الناقص</translation>
    </message>
    <message>
        <source>There is nothing to pay in this cabin.</source>
        <translation>لا يوجد ما يُدفع في هذه الكابينة.</translation>
    </message>
    <message>
        <source>A call is still running: wait until it ends.</source>
        <translation>لا تزال هناك مكالمة جارية: انتظر حتى تنتهي.</translation>
    </message>
    <message>
        <source>Type the cash received (for example %1).</source>
        <translation>اكتب المبلغ النقدي المستلم (مثلًا %1).</translation>
    </message>
    <message>
        <source>Not enough cash: received %1, due %2. Nothing was taken.</source>
        <translation>النقد غير كافٍ: المستلم %1، المستحق %2. لم يُحصَّل أي مبلغ.</translation>
    </message>
    <message>
        <source>The server says %1 is due: more cash is needed.</source>
        <translation>يفيد الخادم بأن المبلغ المستحق %1: يلزم مزيد من النقد.</translation>
    </message>
    <message>
        <source>This session was already paid (at another desk?). Nothing was taken.</source>
        <translation>دُفعت هذه الجلسة مسبقًا (في صندوق آخر؟). لم يُحصَّل أي مبلغ.</translation>
    </message>
    <message>
        <source>Your shift is closed: log in again to take payments.</source>
        <translation>مناوبتك مغلقة: سجّل الدخول مجددًا لتحصيل المدفوعات.</translation>
    </message>
    <message>
        <source>Your login has ended: log in again.</source>
        <translation>انتهت جلستك: سجّل الدخول مجددًا.</translation>
    </message>
    <message>
        <source>The server did not answer. Press Pay again: the payment will be taken only once.</source>
        <translation>لم يستجب الخادم. اضغط «الدفع» مرة أخرى: سيُحصَّل المبلغ مرة واحدة فقط.</translation>
    </message>
    <message>
        <source>Payment failed: %1</source>
        <translation>فشل الدفع: %1</translation>
    </message>
</context>
<context>
    <name>ReceiptBanner</name>
    <message>
        <source>OK</source>
        <translation>حسنًا</translation>
    </message>
    <message>
        <source>Hide this message</source>
        <translation>إخفاء هذه الرسالة</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinter</name>
    <message>
        <source>Test call</source>
        <translation>مكالمة تجريبية</translation>
    </message>
    <message>
        <source>Receipt printer test</source>
        <translation>اختبار طابعة الإيصالات</translation>
    </message>
    <message>
        <source>If you can read this, the printer works.</source>
        <translation>إذا استطعت قراءة هذا فالطابعة تعمل.</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>تجربة</translation>
    </message>
    <message>
        <source>Cabin 1</source>
        <translation>الكابينة 1</translation>
    </message>
    <message>
        <source>The receipt was not printed: no receipt printer is set up. Choose it in the receipt printer settings. The payment is recorded.</source>
        <translation>لم تتم طباعة الإيصال: لم يتم إعداد أي طابعة إيصالات. اخترها من إعدادات طابعة الإيصالات. تم تسجيل الدفع.</translation>
    </message>
    <message>
        <source>The receipt was not printed: %1. The payment is recorded.</source>
        <translation>لم تتم طباعة الإيصال: %1. تم تسجيل الدفع.</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinterDialog</name>
    <message>
        <source>Receipt printer</source>
        <translation>طابعة الإيصالات</translation>
    </message>
    <message>
        <source>The thermal printer of this till. These settings are kept on this computer.</source>
        <translation>الطابعة الحرارية لهذا الصندوق. تُحفظ هذه الإعدادات على هذا الحاسوب.</translation>
    </message>
    <message>
        <source>Close without saving (Esc)</source>
        <translation>إغلاق دون حفظ (Esc)</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinterForm</name>
    <message>
        <source>USB printer (vendor and product id)</source>
        <translation>طابعة USB (معرّف المورّد والمنتج)</translation>
    </message>
    <message>
        <source>Device file (Linux)</source>
        <translation>ملف الجهاز (Linux)</translation>
    </message>
    <message>
        <source>Windows printer</source>
        <translation>طابعة Windows</translation>
    </message>
    <message>
        <source>Printer &amp;connection:</source>
        <translation>&amp;اتصال الطابعة:</translation>
    </message>
    <message>
        <source>USB &amp;vendor id:</source>
        <translation>معرّف &amp;مورّد USB:</translation>
    </message>
    <message>
        <source>USB &amp;product id:</source>
        <translation>معرّف م&amp;نتج USB:</translation>
    </message>
    <message>
        <source>&amp;Device file:</source>
        <translation>ملف ال&amp;جهاز:</translation>
    </message>
    <message>
        <source>&amp;Windows printer:</source>
        <translation>طابعة &amp;Windows:</translation>
    </message>
    <message>
        <source>Paper width:</source>
        <translation>عرض الورق:</translation>
    </message>
    <message>
        <source>e.g. 04b8</source>
        <translation>مثال: 04b8</translation>
    </message>
    <message>
        <source>e.g. 0e15</source>
        <translation>مثال: 0e15</translation>
    </message>
    <message>
        <source>As “lsusb” lists it: ID vendor:product</source>
        <translation>كما يعرضه «lsusb»: ID المورّد:المنتج</translation>
    </message>
    <message>
        <source>Name in Windows&apos; printer list</source>
        <translation>الاسم في قائمة طابعات Windows</translation>
    </message>
    <message>
        <source>58 mm</source>
        <translation>58 مم</translation>
    </message>
    <message>
        <source>80 mm</source>
        <translation>80 مم</translation>
    </message>
    <message>
        <source>Print a receipt after every payment</source>
        <translation>طباعة إيصال بعد كل عملية دفع</translation>
    </message>
    <message>
        <source>Print the invoice number as a QR code</source>
        <translation>طباعة رقم الفاتورة كرمز QR</translation>
    </message>
    <message>
        <source>The printer draws QR codes itself</source>
        <translation>الطابعة ترسم رموز QR بنفسها</translation>
    </message>
    <message>
        <source>Untick if the QR code comes out as garbage: it is then sent as a picture.</source>
        <translation>ألغِ التحديد إذا خرج رمز QR مشوّهًا: يُرسَل حينها كصورة.</translation>
    </message>
    <message>
        <source>&amp;Test print</source>
        <translation>&amp;طباعة تجريبية</translation>
    </message>
    <message>
        <source>Print a sample receipt with these settings</source>
        <translation>طباعة إيصال تجريبي بهذه الإعدادات</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>&amp;حفظ</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>تم الحفظ.</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s USB vendor id (4 hex digits).</source>
        <translation>أدخل معرّف مورّد USB للطابعة (4 أرقام ست عشرية).</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s USB product id (4 hex digits).</source>
        <translation>أدخل معرّف منتج USB للطابعة (4 أرقام ست عشرية).</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s device file, e.g. /dev/usb/lp0.</source>
        <translation>أدخل ملف جهاز الطابعة، مثل ⁦/dev/usb/lp0⁩.</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s name.</source>
        <translation>أدخل اسم الطابعة.</translation>
    </message>
    <message>
        <source>Printing a test receipt…</source>
        <translation>جارٍ طباعة إيصال تجريبي…</translation>
    </message>
    <message>
        <source>The test receipt was printed.</source>
        <translation>تمت طباعة الإيصال التجريبي.</translation>
    </message>
    <message>
        <source>The test receipt was not printed.</source>
        <translation>لم تتم طباعة الإيصال التجريبي.</translation>
    </message>
    <message>
        <source>Receipt printer</source>
        <translation>طابعة الإيصالات</translation>
    </message>
    <message>
        <source>the USB printer %1</source>
        <translation>طابعة USB %1</translation>
    </message>
    <message>
        <source>the printer at %1</source>
        <translation>الطابعة على %1</translation>
    </message>
    <message>
        <source>the Windows printer “%1”</source>
        <translation>طابعة Windows «%1»</translation>
    </message>
    <message>
        <source>No test receipt was printed: %1 cannot be reached.

Check that it is switched on and plugged in, and that the settings below name it.</source>
        <translation>لم تتم طباعة أي إيصال تجريبي: تعذّر الوصول إلى %1.

تأكد من أنها مشغّلة وموصولة، وأن الإعدادات أدناه تشير إليها.</translation>
    </message>
    <message>
        <source>Details: %1</source>
        <translation>التفاصيل: %1</translation>
    </message>
</context>
</TS>
