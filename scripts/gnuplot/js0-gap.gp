# fig-js0-gap: JS0 at initialization (bootstrap 90% interval as error bars)
# against the optimizer gap (SGD's best final held-out loss minus AdamW's),
# one colour per batch size, each point labelled by its model.
#
#   gnuplot -e "in='js0-gap.csv'; batches='8 32'; out='js0-gap.png'" scripts/gnuplot/js0-gap.gp
#
# Rows: label,batch,js0,lo,hi,sgd_loss,adamw_loss,gap,js0k,lok,hik
# (scripts/js0_gap.py). Left: JS0 with the paper's absolute smoothing
# width; right: eigenvalues divided by each block's 10th largest.
if (!exists("out")) out = 'js0-gap.png'
set datafile separator ','
set terminal pngcairo size 1400,600 enhanced font ',10'
set output out
set ylabel 'SGD best held-out loss - AdamW best held-out loss'
set key top left
set grid
set multiplot layout 1, 2
do for [panel=1:2] {
    jx = (panel == 1) ? 3 : 9
    set xlabel (panel == 1) ? 'JS0 at init, absolute width (90% bootstrap interval)' : 'JS0 at init, eigenvalues / 10th largest (90% interval)'
    plot for [b in batches] in using jx:((int(column(2)) == int(b)) ? $8 : 1/0):jx+1:jx+2 \
            with xerrorbars pt 7 ps 1 title sprintf('batch %s', b), \
         for [b in batches] in using jx:((int(column(2)) == int(b)) ? $8 : 1/0):1 \
            with labels left offset 0.5,0.3 font ',7' noenhanced notitle
}
unset multiplot
