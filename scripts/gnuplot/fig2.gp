# The paper's Figure 2: |H| of tiny Transformers with the paper's boxes
# (query+key, value+projection, MLP per layer) outlined, one panel per file.
#
#   gnuplot -e "files='h1.dat h2.dat'; titles='1_layer 2_layers'; out='fig2.png'" scripts/gnuplot/fig2.gp
#
# Each file is scripts/fig2-matrix output: `# boxes:` and `# share:` comment
# lines, then the matrix. Colour is log10 |H| (entries below 1e-8 x max drawn as 1e-8 x max).
if (!exists("out")) out = 'fig2.png'
if (!exists("titles")) titles = files
n = words(files)
set terminal pngcairo size 340*n,330 enhanced font ",8"
set output out
set view map
set size ratio -1
set yrange [*:*] reverse
unset key
set palette defined (0 'white', 1 '#c6dbef', 2 '#4292c6', 3 '#08306b')
set cblabel 'log10 |H_{ij}|'
set tics out font ',7'
set multiplot layout 1, n
do for [k=1:n] {
    f = word(files, k)
    dim = int(system(sprintf("grep -v '^#' %s | wc -l", f)))
    hmax = real(system(sprintf("grep -v '^#' %s | tr ' ' '\\n' | sort -g | tail -1", f)))
    floor = hmax * 1e-8
    boxes = system(sprintf("sed -n 's/^# boxes: //p' %s", f))
    share = system(sprintf("sed -n 's/^# share: \\([0-9.]*\\) .*(no structure: \\([0-9.]*\\)).*/\\1 (unstructured \\2)/p' %s", f))
    unset object
    do for [b=1:words(boxes)/2] {
        lo = real(word(boxes, 2*b-1)) - 0.5
        hi = real(word(boxes, 2*b)) + 0.5
        set object b rect from lo, lo to hi, hi front fillstyle empty border rgb '#d62728' lw 1.5
    }
    set xrange [-0.5:dim-0.5]
    set yrange [dim-0.5:-0.5]
    set cbrange [log10(floor):log10(hmax)]
    set title sprintf("%s: share in boxes %s", system(sprintf("echo '%s' | tr '_' ' '", word(titles, k))), share) noenhanced
    plot f matrix using 1:2:(log10(($3 > floor) ? $3 : floor)) with image
}
unset multiplot
