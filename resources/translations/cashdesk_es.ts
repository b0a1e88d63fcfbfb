<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es" sourcelanguage="en">
<context>
    <name>AutoReceipt</name>
    <message>
        <source>The receipt was not printed: it could not be fetched from the server (%1). The payment is recorded.</source>
        <translation>No se imprimió el recibo: no se pudo obtener del servidor (%1). El pago está registrado.</translation>
    </message>
</context>
<context>
    <name>CabinTile</name>
    <message>
        <source>Free</source>
        <translation>Libre</translation>
    </message>
    <message>
        <source>In use</source>
        <translation>Ocupada</translation>
    </message>
    <message>
        <source>To pay</source>
        <translation>A cobrar</translation>
    </message>
    <message>
        <source>Disabled</source>
        <translation>Desactivada</translation>
    </message>
    <message>
        <source>No line</source>
        <translation>Sin línea</translation>
    </message>
    <message>
        <source>Dialing</source>
        <translation>Marcando</translation>
    </message>
    <message>
        <source>Ringing</source>
        <translation>Sonando</translation>
    </message>
    <message>
        <source>Connected</source>
        <translation>En llamada</translation>
    </message>
    <message>
        <source>Ended</source>
        <translation>Finalizada</translation>
    </message>
    <message>
        <source>Not answered</source>
        <translation>Sin respuesta</translation>
    </message>
    <message>
        <source>Cut</source>
        <translation>Cortada</translation>
    </message>
    <message>
        <source>Pay</source>
        <translation>Cobrar</translation>
    </message>
    <message>
        <source>Pay this cabin (Enter)</source>
        <translation>Cobrar esta cabina (Intro)</translation>
    </message>
    <message>
        <source>Past sessions of this cabin (H)</source>
        <translation>Sesiones anteriores de esta cabina (H)</translation>
    </message>
    <message>
        <source>Invoice for this payment (I)</source>
        <translation>Factura para este pago (I)</translation>
    </message>
    <message>
        <source>A call is still running in this cabin</source>
        <translation>Todavía hay una llamada en curso en esta cabina</translation>
    </message>
    <message>
        <source>Stale</source>
        <translation>Sin actualizar</translation>
    </message>
    <message>
        <source>Ready</source>
        <translation>Lista</translation>
    </message>
    <message>
        <source>Out of service</source>
        <translation>Fuera de servicio</translation>
    </message>
    <message>
        <source>Switch unreachable</source>
        <translation>Central telefónica inaccesible</translation>
    </message>
    <message>
        <source>TOTAL</source>
        <translation>TOTAL</translation>
    </message>
    <message numerus="yes">
        <source>+ %n earlier call(s)</source>
        <translation>
            <numerusform>+ %n llamada anterior</numerusform>
            <numerusform>+ %n llamadas anteriores</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Desk</name>
    <message>
        <source>Starting the server…</source>
        <extracomment>Set by the cold-start benchmark: print when the login window is up, then quit.</extracomment>
        <translation>Iniciando el servidor…</translation>
    </message>
    <message>
        <source>Connecting to the server…</source>
        <translation>Conectando con el servidor…</translation>
    </message>
    <message>
        <source>The server could not be started: %1</source>
        <translation>No se pudo iniciar el servidor: %1</translation>
    </message>
    <message>
        <source>The server cannot be reached: %1</source>
        <translation>No se puede contactar con el servidor: %1</translation>
    </message>
    <message>
        <source>Retrying…</source>
        <translation>Reintentando…</translation>
    </message>
    <message>
        <source>Cash desk</source>
        <translation>Caja</translation>
    </message>
    <message>
        <source>The server stopped: %1</source>
        <translation>El servidor se detuvo: %1</translation>
    </message>
</context>
<context>
    <name>FirstRunDialog</name>
    <message>
        <source>New shop</source>
        <translation>Nuevo locutorio</translation>
    </message>
    <message>
        <source>Welcome</source>
        <translation>Bienvenido</translation>
    </message>
    <message>
        <source>This till has no shop yet. Name it and choose the owner&apos;s login; cashiers are added later by the owner.</source>
        <translation>Esta caja todavía no tiene locutorio. Póngale un nombre y elija el usuario del propietario; después, el propietario añadirá a los cajeros.</translation>
    </message>
    <message>
        <source>Shop name</source>
        <translation>Nombre del locutorio</translation>
    </message>
    <message>
        <source>Currency</source>
        <translation>Moneda</translation>
    </message>
    <message>
        <source>Time zone</source>
        <translation>Zona horaria</translation>
    </message>
    <message>
        <source>Owner&apos;s login</source>
        <translation>Usuario del propietario</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Contraseña</translation>
    </message>
    <message>
        <source>Password again</source>
        <translation>Repita la contraseña</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Salir</translation>
    </message>
    <message>
        <source>Create the shop</source>
        <translation>Crear el locutorio</translation>
    </message>
    <message>
        <source>Name the shop and the owner&apos;s login.</source>
        <translation>Indique el nombre del locutorio y el usuario del propietario.</translation>
    </message>
    <message numerus="yes">
        <source>The password needs at least %n characters.</source>
        <translation>
            <numerusform>La contraseña debe tener al menos %n carácter.</numerusform>
            <numerusform>La contraseña debe tener al menos %n caracteres.</numerusform>
        </translation>
    </message>
    <message>
        <source>The two passwords differ.</source>
        <translation>Las dos contraseñas no coinciden.</translation>
    </message>
    <message>
        <source>The shop could not be created: %1</source>
        <translation>No se pudo crear el locutorio: %1</translation>
    </message>
</context>
<context>
    <name>Formatter</name>
    <message>
        <source>%1/min</source>
        <extracomment>Language code → its own name (shown in the language chooser, never translated). The Babel locale used for money per language (the shop&apos;s currency, the cashier&apos;s language). Unicode bidi isolates (UAX #9): LRI…PDI keeps numbers, phone numbers and durations left-to-right inside Arabic text; FSI…PDI makes a value (an amount, a name) one block with its own direction, so it never mixes with the sentence around it.</extracomment>
        <translation>%1/min</translation>
    </message>
</context>
<context>
    <name>HistoryDialog</name>
    <message>
        <source>Cabin history</source>
        <translation>Historial de la cabina</translation>
    </message>
    <message>
        <source>TRAINING — sessions of the training shop</source>
        <translation>PRÁCTICA — sesiones del locutorio de práctica</translation>
    </message>
    <message>
        <source>History — %1</source>
        <translation>Historial — %1</translation>
    </message>
    <message>
        <source>When</source>
        <translation>Fecha</translation>
    </message>
    <message>
        <source>Calls</source>
        <translation>Llamadas</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Duración</translation>
    </message>
    <message>
        <source>Amount</source>
        <translation>Importe</translation>
    </message>
    <message>
        <source>Operator</source>
        <translation>Cajero</translation>
    </message>
    <message>
        <source>Invoice</source>
        <translation>Factura</translation>
    </message>
    <message>
        <source>Load older sessions</source>
        <translation>Cargar sesiones anteriores</translation>
    </message>
    <message>
        <source>Close (Esc)</source>
        <translation>Cerrar (Esc)</translation>
    </message>
    <message>
        <source>The history could not be loaded: %1</source>
        <translation>No se pudo cargar el historial: %1</translation>
    </message>
    <message>
        <source>No paid session yet.</source>
        <translation>Todavía no hay sesiones pagadas.</translation>
    </message>
    <message numerus="yes">
        <source>%n paid session(s)</source>
        <translation>
            <numerusform>%n sesión pagada</numerusform>
            <numerusform>%n sesiones pagadas</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>%n llamada</numerusform>
            <numerusform>%n llamadas</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>%n contestada</numerusform>
            <numerusform>%n contestadas</numerusform>
        </translation>
    </message>
    <message>
        <source>Received %1, change %2</source>
        <translation>Recibido %1, cambio %2</translation>
    </message>
    <message>
        <source>Invoice %1 — press Enter to open it</source>
        <translation>Factura %1 — pulse Intro para abrirla</translation>
    </message>
    <message>
        <source>%1 per minute</source>
        <translation>%1 por minuto</translation>
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
        <translation>Cerrar la vista previa de la factura</translation>
    </message>
    <message>
        <source>Open the invoice</source>
        <translation>Abrir la factura</translation>
    </message>
    <message>
        <source>Click to open, print or save</source>
        <translation>Haga clic para abrir, imprimir o guardar</translation>
    </message>
    <message>
        <source>Downloading the invoice…</source>
        <translation>Descargando la factura…</translation>
    </message>
    <message>
        <source>Preparing the invoice…</source>
        <translation>Preparando la factura…</translation>
    </message>
    <message>
        <source>The invoice cannot be shown.</source>
        <translation>No se puede mostrar la factura.</translation>
    </message>
    <message>
        <source>The invoice cannot be shown: %1</source>
        <translation>No se puede mostrar la factura: %1</translation>
    </message>
</context>
<context>
    <name>InvoiceSettingsDialog</name>
    <message>
        <source>Invoice settings</source>
        <translation>Ajustes de facturas</translation>
    </message>
    <message>
        <source>What the shop&apos;s invoices and receipts say about it. Invoices already issued keep what they were printed with.</source>
        <translation>Lo que las facturas y los recibos dicen del locutorio. Las facturas ya emitidas conservan los datos con los que se imprimieron.</translation>
    </message>
    <message>
        <source>The shop</source>
        <translation>El locutorio</translation>
    </message>
    <message>
        <source>Invoices</source>
        <translation>Facturas</translation>
    </message>
    <message>
        <source>&amp;Company name</source>
        <translation>&amp;Razón social</translation>
    </message>
    <message>
        <source>&amp;Address</source>
        <translation>&amp;Dirección</translation>
    </message>
    <message>
        <source>&amp;Tax id</source>
        <translation>Identificación &amp;fiscal</translation>
    </message>
    <message>
        <source>&amp;VAT rate</source>
        <translation>Tipo de &amp;IVA</translation>
    </message>
    <message>
        <source>Logo</source>
        <translation>Logotipo</translation>
    </message>
    <message>
        <source>Number &amp;prefix</source>
        <translation>&amp;Prefijo del número</translation>
    </message>
    <message>
        <source>&amp;Digits</source>
        <translation>&amp;Cifras</translation>
    </message>
    <message>
        <source>&amp;Next number</source>
        <translation>Número &amp;siguiente</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>Idi&amp;oma</translation>
    </message>
    <message>
        <source>&amp;Footer</source>
        <translation>Pie de pá&amp;gina</translation>
    </message>
    <message>
        <source>As registered, e.g. Taxiphone de la Gare</source>
        <translation>Tal como está registrada, p. ej. Locutorio Lavapiés</translation>
    </message>
    <message>
        <source>Street, town — one line each</source>
        <translation>Calle, ciudad — una línea cada una</translation>
    </message>
    <message>
        <source>e.g. FR40123456824</source>
        <translation>p. ej. ESB12345678</translation>
    </message>
    <message>
        <source>Prices include VAT</source>
        <translation>Precios con IVA incluido</translation>
    </message>
    <message>
        <source>Ticked: the rates are what customers pay, VAT included. Unticked: VAT is added on top of them.</source>
        <translation>Marcada: las tarifas son lo que pagan los clientes, con el IVA incluido. Sin marcar: el IVA se suma a ellas.</translation>
    </message>
    <message>
        <source>C&amp;hoose…</source>
        <translation>&amp;Elegir…</translation>
    </message>
    <message>
        <source>&amp;Remove</source>
        <translation>&amp;Quitar</translation>
    </message>
    <message>
        <source>A PNG or JPEG picture of at most %1 KB, printed at the top of every invoice.</source>
        <translation>Una imagen PNG o JPEG de %1 KB como máximo, impresa en la parte superior de cada factura.</translation>
    </message>
    <message>
        <source>e.g. INV-</source>
        <translation>p. ej. FAC-</translation>
    </message>
    <message>
        <source>Put the &amp;year in the number</source>
        <translation>Incluir el &amp;año en el número</translation>
    </message>
    <message>
        <source>The number is padded with zeros to this many digits (0: no padding).</source>
        <translation>El número se completa con ceros hasta esta cantidad de cifras (0: sin ceros).</translation>
    </message>
    <message>
        <source>It can change only until the first invoice is issued: numbers must have no gaps.</source>
        <translation>Solo puede cambiar antes de emitir la primera factura: la numeración no puede tener saltos.</translation>
    </message>
    <message>
        <source>e.g. Thank you for your visit</source>
        <translation>p. ej. Gracias por su visita</translation>
    </message>
    <message>
        <source>The language invoices and receipts are printed in</source>
        <translation>El idioma en que se imprimen las facturas y los recibos</translation>
    </message>
    <message>
        <source>Cancel (Esc)</source>
        <translation>Cancelar (Esc)</translation>
    </message>
    <message>
        <source>Try again</source>
        <translation>Reintentar</translation>
    </message>
    <message>
        <source>Save (Enter)</source>
        <translation>Guardar (Intro)</translation>
    </message>
    <message>
        <source>The invoice settings could not be loaded: %1</source>
        <translation>No se pudieron cargar los ajustes de facturas: %1</translation>
    </message>
    <message>
        <source>Next invoice: %1</source>
        <translation>Próxima factura: %1</translation>
    </message>
    <message>
        <source>Choose the logo</source>
        <translation>Elegir el logotipo</translation>
    </message>
    <message>
        <source>Images (*.png *.jpg *.jpeg)</source>
        <translation>Imágenes (*.png *.jpg *.jpeg)</translation>
    </message>
    <message>
        <source>This picture is %1 KB; a logo can be at most %2 KB. Save it smaller (about 600 pixels wide is plenty) and choose it again.</source>
        <translation>Esta imagen ocupa %1 KB; un logotipo puede ocupar como máximo %2 KB. Guárdela más pequeña (basta con unos 600 píxeles de ancho) y vuelva a elegirla.</translation>
    </message>
    <message>
        <source>This file is not a PNG or JPEG picture. Choose a logo saved as PNG or JPEG.</source>
        <translation>Este archivo no es una imagen PNG ni JPEG. Elija un logotipo guardado como PNG o JPEG.</translation>
    </message>
    <message>
        <source>The file could not be read: %1</source>
        <translation>No se pudo leer el archivo: %1</translation>
    </message>
    <message>
        <source>No logo</source>
        <translation>Sin logotipo</translation>
    </message>
    <message>
        <source>A logo the desk cannot show</source>
        <translation>Un logotipo que la caja no puede mostrar</translation>
    </message>
    <message>
        <source>Enter the VAT rate in percent, e.g. %1 (0 when the shop charges no VAT).</source>
        <translation>Escriba el tipo de IVA en porcentaje, p. ej. %1 (0 si el locutorio no cobra IVA).</translation>
    </message>
    <message>
        <source>The settings were not saved: %1</source>
        <translation>No se guardaron los ajustes: %1</translation>
    </message>
    <message>
        <source>Loading the invoice settings…</source>
        <translation>Cargando los ajustes de facturas…</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
</context>
<context>
    <name>InvoiceViewer</name>
    <message>
        <source>Invoice pages</source>
        <extracomment>The job finished: pages printed, and whether a PDF file got the invoice itself. The invoice was written to this path. Printing or saving failed; the message was shown to the cashier.</extracomment>
        <translation>Páginas de la factura</translation>
    </message>
    <message>
        <source>−</source>
        <translation>−</translation>
    </message>
    <message>
        <source>Zoom out</source>
        <translation>Alejar</translation>
    </message>
    <message>
        <source>+</source>
        <translation>+</translation>
    </message>
    <message>
        <source>Zoom in</source>
        <translation>Acercar</translation>
    </message>
    <message>
        <source>Fit width</source>
        <translation>Ajustar al ancho</translation>
    </message>
    <message>
        <source>Fit the page width to the window</source>
        <translation>Ajustar el ancho de la página a la ventana</translation>
    </message>
    <message>
        <source>Whole page</source>
        <translation>Página completa</translation>
    </message>
    <message>
        <source>Show whole pages</source>
        <translation>Mostrar páginas completas</translation>
    </message>
    <message>
        <source>Save as…</source>
        <translation>Guardar como…</translation>
    </message>
    <message>
        <source>Save the invoice as a PDF file</source>
        <translation>Guardar la factura como archivo PDF</translation>
    </message>
    <message>
        <source>Print…</source>
        <translation>Imprimir…</translation>
    </message>
    <message>
        <source>Print the invoice</source>
        <translation>Imprimir la factura</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Cerrar</translation>
    </message>
    <message>
        <source>Close the invoice (Esc)</source>
        <translation>Cerrar la factura (Esc)</translation>
    </message>
    <message>
        <source>This invoice cannot be shown: the file is damaged.</source>
        <translation>No se puede mostrar esta factura: el archivo está dañado.</translation>
    </message>
    <message>
        <source>1 page</source>
        <translation>1 página</translation>
    </message>
    <message numerus="yes">
        <source>%n pages</source>
        <translation>
            <numerusform>%n página</numerusform>
            <numerusform>%n páginas</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 %</source>
        <translation>%1 %</translation>
    </message>
    <message>
        <source>Print invoice</source>
        <translation>Imprimir factura</translation>
    </message>
    <message>
        <source>Printing…</source>
        <translation>Imprimiendo…</translation>
    </message>
    <message>
        <source>The invoice was saved as a PDF file.</source>
        <translation>La factura se guardó como archivo PDF.</translation>
    </message>
    <message>
        <source>The invoice was sent to the printer.</source>
        <translation>La factura se envió a la impresora.</translation>
    </message>
    <message>
        <source>The invoice was not printed: %1</source>
        <translation>La factura no se imprimió: %1</translation>
    </message>
    <message>
        <source>Save invoice</source>
        <translation>Guardar factura</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>Archivos PDF (*.pdf)</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>Guardando…</translation>
    </message>
    <message>
        <source>Saved as %1</source>
        <translation>Guardada como %1</translation>
    </message>
    <message>
        <source>The invoice was not saved: %1</source>
        <translation>La factura no se guardó: %1</translation>
    </message>
    <message>
        <source>Invoice</source>
        <translation>Factura</translation>
    </message>
    <message>
        <source>The invoice could not be opened: %1</source>
        <translation>No se pudo abrir la factura: %1</translation>
    </message>
</context>
<context>
    <name>LoginDialog</name>
    <message>
        <source>Cash desk — log in</source>
        <extracomment>A message shown on the login: a text, or a function that writes it in the current language (so a language chosen while it shows re-writes it at once).</extracomment>
        <translation>Caja — iniciar sesión</translation>
    </message>
    <message>
        <source>Cash desk</source>
        <translation>Caja</translation>
    </message>
    <message>
        <source>Log in to start your shift</source>
        <translation>Inicie sesión para empezar su turno</translation>
    </message>
    <message>
        <source>TRAINING SHOP — practice only, no real money</source>
        <translation>LOCUTORIO DE PRÁCTICA — sin dinero real</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <source>User name</source>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>Password</source>
        <translation>Contraseña</translation>
    </message>
    <message>
        <source>Log in (Enter)</source>
        <translation>Iniciar sesión (Intro)</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Salir</translation>
    </message>
    <message>
        <source>Logging in…</source>
        <translation>Iniciando sesión…</translation>
    </message>
    <message>
        <source>Connected to the server.</source>
        <translation>Conectado al servidor.</translation>
    </message>
    <message>
        <source>Starting the server…</source>
        <translation>Iniciando el servidor…</translation>
    </message>
    <message>
        <source>Type your user name and password.</source>
        <translation>Escriba su usuario y su contraseña.</translation>
    </message>
    <message numerus="yes">
        <source>Too many failed attempts. Wait %n second(s).</source>
        <translation>
            <numerusform>Demasiados intentos fallidos. Espere %n segundo.</numerusform>
            <numerusform>Demasiados intentos fallidos. Espere %n segundos.</numerusform>
        </translation>
    </message>
    <message>
        <source>Wrong user name or password.</source>
        <translation>Usuario o contraseña incorrectos.</translation>
    </message>
    <message>
        <source>The server cannot be reached. It will be retried.</source>
        <translation>No se puede contactar con el servidor. Se volverá a intentar.</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Cash desk</source>
        <translation>Caja</translation>
    </message>
    <message>
        <source>&amp;Cabin</source>
        <translation>&amp;Cabina</translation>
    </message>
    <message>
        <source>&amp;Shift</source>
        <translation>&amp;Turno</translation>
    </message>
    <message>
        <source>Se&amp;ttings</source>
        <translation>&amp;Ajustes</translation>
    </message>
    <message>
        <source>&amp;Invoice settings…</source>
        <translation>Ajustes de &amp;facturas…</translation>
    </message>
    <message>
        <source>&amp;Receipt printer…</source>
        <translation>Impresora de &amp;recibos…</translation>
    </message>
    <message>
        <source>Pay the selected cabin</source>
        <translation>Cobrar la cabina seleccionada</translation>
    </message>
    <message>
        <source>Invoice for the selected cabin</source>
        <translation>Factura para la cabina seleccionada</translation>
    </message>
    <message>
        <source>History of the selected cabin</source>
        <translation>Historial de la cabina seleccionada</translation>
    </message>
    <message>
        <source>Log off (end my shift)</source>
        <translation>Cerrar sesión (terminar mi turno)</translation>
    </message>
    <message>
        <source>Keys: 1–64 or F1–F12 select a cabin · arrows move · Enter pay · I invoice · H history · Ctrl+L log off</source>
        <translation>Teclas: 1–64 o F1–F12 elegir cabina · flechas moverse · Intro cobrar · I factura · H historial · Ctrl+L cerrar sesión</translation>
    </message>
    <message>
        <source>TRAINING MODE — simulated customers, no real money is taken</source>
        <translation>MODO PRÁCTICA — clientes simulados, no se cobra dinero real</translation>
    </message>
    <message>
        <source>TRAINING</source>
        <translation>PRÁCTICA</translation>
    </message>
    <message>
        <source>Your login has ended: please log in again.</source>
        <translation>Su sesión ha terminado: vuelva a iniciar sesión.</translation>
    </message>
    <message>
        <source>● %1 on shift</source>
        <translation>● %1 de turno</translation>
    </message>
    <message>
        <source>Logged in since %1 — Ctrl+L to log off</source>
        <translation>Conectado desde las %1 — Ctrl+L para cerrar sesión</translation>
    </message>
    <message>
        <source>Nobody logged in</source>
        <translation>Nadie ha iniciado sesión</translation>
    </message>
    <message>
        <source>Credit %1</source>
        <translation>Crédito %1</translation>
    </message>
    <message>
        <source>Prepaid credit available for calls</source>
        <translation>Crédito prepago disponible para llamadas</translation>
    </message>
    <message numerus="yes">
        <source>%n cabin(s)</source>
        <translation>
            <numerusform>%n cabina</numerusform>
            <numerusform>%n cabinas</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n in use</source>
        <translation>
            <numerusform>%n ocupada</numerusform>
            <numerusform>%n ocupadas</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n to pay</source>
        <translation>
            <numerusform>%n a cobrar</numerusform>
            <numerusform>%n a cobrar</numerusform>
        </translation>
    </message>
    <message>
        <source>● Server: live</source>
        <translation>● Servidor: en línea</translation>
    </message>
    <message>
        <source>Connected to the server; the tiles are live.</source>
        <translation>Conectado al servidor; las cabinas se actualizan en tiempo real.</translation>
    </message>
    <message>
        <source>● Server: connecting…</source>
        <translation>● Servidor: conectando…</translation>
    </message>
    <message>
        <source>● Server: unreachable</source>
        <translation>● Servidor: inaccesible</translation>
    </message>
    <message>
        <source>● Phones: OK</source>
        <translation>● Teléfonos: OK</translation>
    </message>
    <message>
        <source>The telephone switch (%1) is connected.</source>
        <translation>La central telefónica (%1) está conectada.</translation>
    </message>
    <message>
        <source>● Phones: unreachable</source>
        <translation>● Teléfonos: inaccesibles</translation>
    </message>
    <message>
        <source>The telephone switch (%1) does not answer: no call can be made.</source>
        <translation>La central telefónica (%1) no responde: no se puede hacer ninguna llamada.</translation>
    </message>
    <message>
        <source>Connection to the server lost — the tiles show the last known state and are not live. Reconnecting…</source>
        <translation>Se perdió la conexión con el servidor: las cabinas muestran el último estado conocido y no se actualizan. Reconectando…</translation>
    </message>
    <message>
        <source>Connecting to the server…</source>
        <translation>Conectando con el servidor…</translation>
    </message>
    <message>
        <source>%1 paid — change %2</source>
        <translation>%1 cobrada — cambio %2</translation>
    </message>
    <message>
        <source>Invoice %1</source>
        <translation>Factura %1</translation>
    </message>
    <message>
        <source>Invoice of payment %1</source>
        <translation>Factura del pago %1</translation>
    </message>
    <message>
        <source>Invoice settings saved.</source>
        <translation>Ajustes de facturas guardados.</translation>
    </message>
    <message>
        <source>Receipt printer settings saved.</source>
        <translation>Ajustes de la impresora de recibos guardados.</translation>
    </message>
    <message>
        <source>Something failed: %1</source>
        <translation>Algo falló: %1</translation>
    </message>
</context>
<context>
    <name>PayDialog</name>
    <message>
        <source>Pay</source>
        <extracomment>Banknotes a customer typically hands over, per currency (the rest: these).</extracomment>
        <translation>Cobrar</translation>
    </message>
    <message>
        <source>TRAINING — no real money is taken</source>
        <translation>PRÁCTICA — no se cobra dinero real</translation>
    </message>
    <message>
        <source>AMOUNT DUE</source>
        <translation>IMPORTE A PAGAR</translation>
    </message>
    <message>
        <source>CASH RECEIVED</source>
        <translation>EFECTIVO RECIBIDO</translation>
    </message>
    <message>
        <source>CHANGE TO GIVE</source>
        <translation>CAMBIO A DEVOLVER</translation>
    </message>
    <message>
        <source>Exact</source>
        <translation>Exacto</translation>
    </message>
    <message>
        <source>The customer gives the exact amount</source>
        <translation>El cliente paga el importe exacto</translation>
    </message>
    <message>
        <source>Print an invoice (Alt+I)</source>
        <translation>Imprimir una factura (Alt+I)</translation>
    </message>
    <message>
        <source>Cancel (Esc)</source>
        <translation>Cancelar (Esc)</translation>
    </message>
    <message>
        <source>Pay (Enter)</source>
        <translation>Cobrar (Intro)</translation>
    </message>
    <message>
        <source>Pay — %1</source>
        <translation>Cobrar — %1</translation>
    </message>
    <message>
        <source>Nothing to pay: this session is closed (paid at another desk?).</source>
        <translation>Nada que cobrar: esta sesión está cerrada (¿pagada en otra caja?).</translation>
    </message>
    <message numerus="yes">
        <source>%n call(s)</source>
        <translation>
            <numerusform>%n llamada</numerusform>
            <numerusform>%n llamadas</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n answered</source>
        <translation>
            <numerusform>%n contestada</numerusform>
            <numerusform>%n contestadas</numerusform>
        </translation>
    </message>
    <message>
        <source>opened at %1</source>
        <translation>abierta a las %1</translation>
    </message>
    <message>
        <source>A call is still running in this cabin (%1). It cannot be paid until it ends.</source>
        <translation>Todavía hay una llamada en curso en esta cabina (%1). No se puede cobrar hasta que termine.</translation>
    </message>
    <message>
        <source>The connection to the server is lost: the figures may be out of date.</source>
        <translation>Se perdió la conexión con el servidor: puede que las cifras no estén actualizadas.</translation>
    </message>
    <message>
        <source>Received: %1</source>
        <translation>Recibido: %1</translation>
    </message>
    <message>
        <source>STILL MISSING</source>
        <translation>FALTAN</translation>
    </message>
    <message>
        <source>There is nothing to pay in this cabin.</source>
        <translation>No hay nada que cobrar en esta cabina.</translation>
    </message>
    <message>
        <source>A call is still running: wait until it ends.</source>
        <translation>Todavía hay una llamada en curso: espere a que termine.</translation>
    </message>
    <message>
        <source>Type the cash received (for example %1).</source>
        <translation>Escriba el efectivo recibido (por ejemplo, %1).</translation>
    </message>
    <message>
        <source>Not enough cash: received %1, due %2. Nothing was taken.</source>
        <translation>Efectivo insuficiente: recibido %1, a pagar %2. No se cobró nada.</translation>
    </message>
    <message>
        <source>The server says %1 is due: more cash is needed.</source>
        <translation>Según el servidor, el importe a pagar es %1: hace falta más efectivo.</translation>
    </message>
    <message>
        <source>This session was already paid (at another desk?). Nothing was taken.</source>
        <translation>Esta sesión ya se pagó (¿en otra caja?). No se cobró nada.</translation>
    </message>
    <message>
        <source>Your shift is closed: log in again to take payments.</source>
        <translation>Su turno está cerrado: vuelva a iniciar sesión para cobrar.</translation>
    </message>
    <message>
        <source>Your login has ended: log in again.</source>
        <translation>Su sesión ha terminado: vuelva a iniciar sesión.</translation>
    </message>
    <message>
        <source>The server did not answer. Press Pay again: the payment will be taken only once.</source>
        <translation>El servidor no respondió. Pulse Cobrar otra vez: el pago se cobrará una sola vez.</translation>
    </message>
    <message>
        <source>Payment failed: %1</source>
        <translation>El pago falló: %1</translation>
    </message>
</context>
<context>
    <name>ReceiptBanner</name>
    <message>
        <source>OK</source>
        <translation>Aceptar</translation>
    </message>
    <message>
        <source>Hide this message</source>
        <translation>Ocultar este mensaje</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinter</name>
    <message>
        <source>Test call</source>
        <translation>Llamada de prueba</translation>
    </message>
    <message>
        <source>Receipt printer test</source>
        <translation>Prueba de la impresora de recibos</translation>
    </message>
    <message>
        <source>If you can read this, the printer works.</source>
        <translation>Si puede leer esto, la impresora funciona.</translation>
    </message>
    <message>
        <source>Test</source>
        <translation>Prueba</translation>
    </message>
    <message>
        <source>Cabin 1</source>
        <translation>Cabina 1</translation>
    </message>
    <message>
        <source>The receipt was not printed: no receipt printer is set up. Choose it in the receipt printer settings. The payment is recorded.</source>
        <translation>No se imprimió el recibo: no hay ninguna impresora de recibos configurada. Elíjala en la configuración de la impresora de recibos. El pago quedó registrado.</translation>
    </message>
    <message>
        <source>The receipt was not printed: %1. The payment is recorded.</source>
        <translation>No se imprimió el recibo: %1. El pago quedó registrado.</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinterDialog</name>
    <message>
        <source>Receipt printer</source>
        <translation>Impresora de recibos</translation>
    </message>
    <message>
        <source>The thermal printer of this till. These settings are kept on this computer.</source>
        <translation>La impresora térmica de esta caja. Estos ajustes se guardan en este ordenador.</translation>
    </message>
    <message>
        <source>Close without saving (Esc)</source>
        <translation>Cerrar sin guardar (Esc)</translation>
    </message>
</context>
<context>
    <name>ReceiptPrinterForm</name>
    <message>
        <source>USB printer (vendor and product id)</source>
        <translation>Impresora USB (ID de fabricante y de producto)</translation>
    </message>
    <message>
        <source>Device file (Linux)</source>
        <translation>Archivo de dispositivo (Linux)</translation>
    </message>
    <message>
        <source>Windows printer</source>
        <translation>Impresora de Windows</translation>
    </message>
    <message>
        <source>Printer &amp;connection:</source>
        <translation>&amp;Conexión de la impresora:</translation>
    </message>
    <message>
        <source>USB &amp;vendor id:</source>
        <translation>ID de &amp;fabricante USB:</translation>
    </message>
    <message>
        <source>USB &amp;product id:</source>
        <translation>ID de &amp;producto USB:</translation>
    </message>
    <message>
        <source>&amp;Device file:</source>
        <translation>Archivo de &amp;dispositivo:</translation>
    </message>
    <message>
        <source>&amp;Windows printer:</source>
        <translation>Impresora de &amp;Windows:</translation>
    </message>
    <message>
        <source>Paper width:</source>
        <translation>Ancho del papel:</translation>
    </message>
    <message>
        <source>e.g. 04b8</source>
        <translation>p. ej. 04b8</translation>
    </message>
    <message>
        <source>e.g. 0e15</source>
        <translation>p. ej. 0e15</translation>
    </message>
    <message>
        <source>As “lsusb” lists it: ID vendor:product</source>
        <translation>Tal como lo muestra «lsusb»: ID fabricante:producto</translation>
    </message>
    <message>
        <source>Name in Windows&apos; printer list</source>
        <translation>Nombre en la lista de impresoras de Windows</translation>
    </message>
    <message>
        <source>58 mm</source>
        <translation>58 mm</translation>
    </message>
    <message>
        <source>80 mm</source>
        <translation>80 mm</translation>
    </message>
    <message>
        <source>Print a receipt after every payment</source>
        <translation>Imprimir un recibo después de cada pago</translation>
    </message>
    <message>
        <source>Print the invoice number as a QR code</source>
        <translation>Imprimir el número de factura como código QR</translation>
    </message>
    <message>
        <source>The printer draws QR codes itself</source>
        <translation>La impresora genera los códigos QR por sí misma</translation>
    </message>
    <message>
        <source>Untick if the QR code comes out as garbage: it is then sent as a picture.</source>
        <translation>Desmarque la casilla si el código QR sale ilegible: entonces se envía como imagen.</translation>
    </message>
    <message>
        <source>&amp;Test print</source>
        <translation>&amp;Imprimir prueba</translation>
    </message>
    <message>
        <source>Print a sample receipt with these settings</source>
        <translation>Imprimir un recibo de prueba con esta configuración</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>&amp;Guardar</translation>
    </message>
    <message>
        <source>Saved.</source>
        <translation>Guardado.</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s USB vendor id (4 hex digits).</source>
        <translation>Introduzca el ID de fabricante USB de la impresora (4 dígitos hexadecimales).</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s USB product id (4 hex digits).</source>
        <translation>Introduzca el ID de producto USB de la impresora (4 dígitos hexadecimales).</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s device file, e.g. /dev/usb/lp0.</source>
        <translation>Introduzca el archivo de dispositivo de la impresora, p. ej. /dev/usb/lp0.</translation>
    </message>
    <message>
        <source>Enter the printer&apos;s name.</source>
        <translation>Introduzca el nombre de la impresora.</translation>
    </message>
    <message>
        <source>Printing a test receipt…</source>
        <translation>Imprimiendo un recibo de prueba…</translation>
    </message>
    <message>
        <source>The test receipt was printed.</source>
        <translation>Se imprimió el recibo de prueba.</translation>
    </message>
    <message>
        <source>The test receipt was not printed.</source>
        <translation>No se imprimió el recibo de prueba.</translation>
    </message>
    <message>
        <source>Receipt printer</source>
        <translation>Impresora de recibos</translation>
    </message>
    <message>
        <source>the USB printer %1</source>
        <translation>la impresora USB %1</translation>
    </message>
    <message>
        <source>the printer at %1</source>
        <translation>la impresora en %1</translation>
    </message>
    <message>
        <source>the Windows printer “%1”</source>
        <translation>la impresora de Windows «%1»</translation>
    </message>
    <message>
        <source>No test receipt was printed: %1 cannot be reached.

Check that it is switched on and plugged in, and that the settings below name it.</source>
        <translation>No se imprimió ningún recibo de prueba: no se puede acceder a %1.

Compruebe que esté encendida y conectada, y que la configuración de abajo la indique correctamente.</translation>
    </message>
    <message>
        <source>Details: %1</source>
        <translation>Detalles: %1</translation>
    </message>
</context>
</TS>
