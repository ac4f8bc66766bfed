# fig-js0-gap: JS0 at initialization (bootstrap 90% interval as error bars)
# against the optimizer gap (SGD's best final held-out loss minus AdamW's),
# one colour per batch size, each point labelled by its model.
#
#   gnuplot -e "in='js0-gap.csv'; batches='8 32'; out='js0-gap.png'" scripts/gnuplot/js0-gap.gp
#
# Rows: label,batch,js0,lo,hi,sgd_loss,adamw_loss,gap (scripts/js0_gap.py).
if (!exists("out")) out = 'js0-gap.png'
set datafile separator ','
set terminal pngcairo size 900,600 enhanced font ',10'
set output out
set xlabel 'JS0 at initialization (90% bootstrap interval)'
set ylabel 'SGD best held-out loss - AdamW best held-out loss'
set key top left
set grid
plot for [b in batches] in using 3:((int(column(2)) == int(b)) ? $8 : 1/0):4:5 \
        with xerrorbars pt 7 ps 1 title sprintf('batch %s', b), \
     for [b in batches] in using 3:((int(column(2)) == int(b)) ? $8 : 1/0):1 \
        with labels left offset 0.5,0.3 font ',7' noenhanced notitle
