<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>menus</name>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Tools</source>
        <translation>工具(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Classes</source>
        <translation>类别(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;Model</source>
        <translation>模型(&amp;M)</translation>
    </message>
</context>
<context>
    <name>actions</name>
    <message>
        <source>Next Image with Pr&amp;oposals</source>
        <translation>下一张有候选标注的图像(&amp;O)</translation>
    </message>
    <message>
        <source>Previous Image with Proposa&amp;ls</source>
        <translation>上一张有候选标注的图像(&amp;L)</translation>
    </message>
    <message>
        <source>Accept All Proposals and &amp;Next</source>
        <translation>接受全部候选标注并转到下一张(&amp;N)</translation>
    </message>
    <message>
        <source>Re&amp;ject All Proposals</source>
        <translation>拒绝全部候选标注(&amp;J)</translation>
    </message>
    <message>
        <source>Bring Shapes &amp;Forward</source>
        <translation>上移形状(&amp;F)</translation>
    </message>
    <message>
        <source>Send Shapes &amp;Backward</source>
        <translation>下移形状(&amp;B)</translation>
    </message>
    <message>
        <source>New &amp;Instance for Selected Shapes</source>
        <translation>为所选形状新建实例(&amp;I)</translation>
    </message>
    <message>
        <source>Re&amp;name Class...</source>
        <translation>重命名类别(&amp;N)...</translation>
    </message>
    <message>
        <source>Change Class &amp;Colour...</source>
        <translation>更改类别颜色(&amp;C)...</translation>
    </message>
    <message>
        <source>Toggle &amp;Thing / Stuff</source>
        <translation>切换可数/不可数类别(&amp;T)</translation>
    </message>
    <message>
        <source>&amp;Remove Class...</source>
        <translation>删除类别(&amp;R)...</translation>
    </message>
    <message>
        <source>&amp;Open Folder...</source>
        <translation>打开文件夹(&amp;O)...</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>撤销(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>重做(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Delete Shapes</source>
        <translation>删除形状(&amp;D)</translation>
    </message>
    <message>
        <source>Change Class to Current</source>
        <translation>改为当前类别</translation>
    </message>
    <message>
        <source>Mark Image &amp;Done</source>
        <translation>标记图像为已完成(&amp;D)</translation>
    </message>
    <message>
        <source>Mark Image &amp;Reviewed</source>
        <translation>标记图像为已审核(&amp;R)</translation>
    </message>
    <message>
        <source>Mark Image In &amp;Progress</source>
        <translation>标记图像为进行中(&amp;P)</translation>
    </message>
    <message>
        <source>Create &amp;Polygon</source>
        <translation>创建多边形(&amp;P)</translation>
    </message>
    <message>
        <source>Create &amp;Rectangle</source>
        <translation>创建矩形(&amp;R)</translation>
    </message>
    <message>
        <source>Create P&amp;oint</source>
        <translation>创建点(&amp;O)</translation>
    </message>
    <message>
        <source>Create &amp;Line</source>
        <translation>创建线段(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Edit Shapes</source>
        <translation>编辑形状(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Previous Image</source>
        <translation>上一张图像(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Next Image</source>
        <translation>下一张图像(&amp;N)</translation>
    </message>
    <message>
        <source>Zoom &amp;In</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <source>Zoom &amp;Out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Fit Window</source>
        <translation>适应窗口(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Original Size</source>
        <translation>原始大小(&amp;O)</translation>
    </message>
    <message>
        <source>More Opaque Overlay</source>
        <translation>叠加层更不透明</translation>
    </message>
    <message>
        <source>More Transparent Overlay</source>
        <translation>叠加层更透明</translation>
    </message>
    <message>
        <source>Class 1</source>
        <translation>类别 1</translation>
    </message>
    <message>
        <source>Class 2</source>
        <translation>类别 2</translation>
    </message>
    <message>
        <source>Class 3</source>
        <translation>类别 3</translation>
    </message>
    <message>
        <source>Class 4</source>
        <translation>类别 4</translation>
    </message>
    <message>
        <source>Class 5</source>
        <translation>类别 5</translation>
    </message>
    <message>
        <source>Class 6</source>
        <translation>类别 6</translation>
    </message>
    <message>
        <source>Class 7</source>
        <translation>类别 7</translation>
    </message>
    <message>
        <source>Class 8</source>
        <translation>类别 8</translation>
    </message>
    <message>
        <source>Class 9</source>
        <translation>类别 9</translation>
    </message>
    <message>
        <source>Create &amp;Circle</source>
        <translation>创建圆形(&amp;C)</translation>
    </message>
    <message>
        <source>Create Line &amp;Strip</source>
        <translation>创建折线(&amp;S)</translation>
    </message>
    <message>
        <source>Scri&amp;bble (weak label)</source>
        <translation>涂鸦（弱标注）(&amp;B)</translation>
    </message>
    <message>
        <source>Draw &amp;Hole in Selected Polygon</source>
        <translation>在所选多边形中画洞(&amp;H)</translation>
    </message>
    <message>
        <source>Mask &amp;Brush</source>
        <translation>掩膜画笔(&amp;B)</translation>
    </message>
    <message>
        <source>Mask &amp;Eraser</source>
        <translation>掩膜橡皮擦(&amp;E)</translation>
    </message>
    <message>
        <source>Mask &amp;Fill (Bucket)</source>
        <translation>掩膜填充（油漆桶）(&amp;F)</translation>
    </message>
    <message>
        <source>Smaller Brush</source>
        <translation>缩小画笔</translation>
    </message>
    <message>
        <source>Larger Brush</source>
        <translation>放大画笔</translation>
    </message>
    <message>
        <source>&amp;Copy Shapes</source>
        <translation>复制形状(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Paste Shapes</source>
        <translation>粘贴形状(&amp;P)</translation>
    </message>
    <message>
        <source>Paste Shapes at C&amp;ursor</source>
        <translation>在光标处粘贴形状(&amp;U)</translation>
    </message>
    <message>
        <source>D&amp;uplicate Shapes</source>
        <translation>创建形状副本(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Merge Selected (Union)</source>
        <translation>合并所选（并集）(&amp;M)</translation>
    </message>
    <message>
        <source>&amp;Subtract Others from First Selected</source>
        <translation>从第一个所选中减去其他(&amp;S)</translation>
    </message>
    <message>
        <source>Mask to &amp;Polygons</source>
        <translation>掩膜转多边形(&amp;P)</translation>
    </message>
    <message>
        <source>Polygon to Mas&amp;k</source>
        <translation>多边形转掩膜(&amp;K)</translation>
    </message>
    <message>
        <source>&amp;Fill Shapes</source>
        <translation>填充形状(&amp;F)</translation>
    </message>
    <message>
        <source>Outlines &amp;Only</source>
        <translation>仅显示轮廓(&amp;O)</translation>
    </message>
    <message>
        <source>Colour by &amp;Class</source>
        <translation>按类别着色(&amp;C)</translation>
    </message>
    <message>
        <source>Colour by &amp;Instance</source>
        <translation>按实例着色(&amp;I)</translation>
    </message>
    <message>
        <source>&amp;Import Dataset...</source>
        <translation>导入数据集(&amp;I)...</translation>
    </message>
    <message>
        <source>E&amp;xport Dataset...</source>
        <translation>导出数据集(&amp;X)...</translation>
    </message>
    <message>
        <source>Se&amp;ttings...</source>
        <translation>设置(&amp;T)...</translation>
    </message>
    <message>
        <source>&amp;Keyboard Shortcuts</source>
        <translation>键盘快捷键(&amp;K)</translation>
    </message>
    <message>
        <source>&amp;AI Assist (click, box, scribble)</source>
        <translation>AI 辅助（点击、框选、涂鸦）(&amp;A)</translation>
    </message>
    <message>
        <source>&amp;Plugins...</source>
        <translation>插件(&amp;P)...</translation>
    </message>
    <message>
        <source>&amp;Train Model...</source>
        <translation>训练模型(&amp;T)...</translation>
    </message>
    <message>
        <source>&amp;Predict Proposals</source>
        <translation>预测候选标注(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Accept Pre-labels</source>
        <translation>接受预标注(&amp;A)</translation>
    </message>
    <message>
        <source>Next Most &amp;Useful Image</source>
        <translation>下一张最有用的图像(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Live Pixel Classifier Preview</source>
        <translation>像素分类器实时预览(&amp;L)</translation>
    </message>
    <message>
        <source>Show Preview &amp;Uncertainty</source>
        <translation>显示预览不确定性(&amp;U)</translation>
    </message>
    <message>
        <source>Create &amp;Weak Box</source>
        <translation>创建弱标注框(&amp;W)</translation>
    </message>
    <message>
        <source>Intelligent Sc&amp;issors (edge-snapping polygon)</source>
        <translation>智能剪刀（贴合边缘的多边形）(&amp;I)</translation>
    </message>
    <message>
        <source>&amp;Autolabel...</source>
        <translation>自动标注(&amp;A)...</translation>
    </message>
    <message>
        <source>Re&amp;generate Selected Proposal...</source>
        <translation>重新生成所选提议(&amp;G)...</translation>
    </message>
    <message>
        <source>&amp;SAM Model...</source>
        <translation>SAM 模型(&amp;S)...</translation>
    </message>
    <message>
        <source>&amp;Brightness / Contrast...</source>
        <translation>亮度/对比度(&amp;B)...</translation>
    </message>
    <message>
        <source>Auto Brightness / Contrast</source>
        <translation>自动亮度/对比度</translation>
    </message>
    <message>
        <source>Reset Brightness / Contrast</source>
        <translation>重置亮度/对比度</translation>
    </message>
    <message>
        <source>&amp;Hide All Shapes</source>
        <translation>隐藏所有形状(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;Keep Previous Annotation</source>
        <translation>保留上一张的标注(&amp;K)</translation>
    </message>
    <message>
        <source>Simplif&amp;y Selected Polygons</source>
        <translation>简化所选多边形(&amp;Y)</translation>
    </message>
</context>
<context>
    <name>docks</name>
    <message>
        <source>with proposals</source>
        <translation>有候选标注</translation>
    </message>
    <message>
        <source>Show only images with proposals to review</source>
        <translation>只显示有待审核候选标注的图像</translation>
    </message>
    <message>
        <source>1 proposal</source>
        <translation>1 个候选标注</translation>
    </message>
    <message>
        <source>{0} proposals</source>
        <translation>{0} 个候选标注</translation>
    </message>
    <message>
        <source>Show only images with this status</source>
        <translation>只显示此状态的图像</translation>
    </message>
    <message>
        <source>all images</source>
        <translation>所有图像</translation>
    </message>
    <message>
        <source>not done</source>
        <translation>未完成</translation>
    </message>
    <message>
        <source>new</source>
        <translation>新建</translation>
    </message>
    <message>
        <source>in progress</source>
        <translation>进行中</translation>
    </message>
    <message>
        <source>done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>reviewed</source>
        <translation>已审核</translation>
    </message>
    <message>
        <source>done or reviewed</source>
        <translation>已完成或已审核</translation>
    </message>
    <message>
        <source>unreadable</source>
        <translation>无法读取</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Classes</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Shapes</source>
        <translation>形状</translation>
    </message>
    <message>
        <source>Image Tags</source>
        <translation>图像标签</translation>
    </message>
    <message>
        <source>New tag name, then Enter</source>
        <translation>输入新标签名，然后按回车</translation>
    </message>
    <message>
        <source>tag {0} added for this session only: {1}</source>
        <translation>标签 {0} 仅在本次会话中添加：{1}</translation>
    </message>
</context>
<context>
    <name>status</name>
    <message>
        <source>reading the image folder...</source>
        <translation>正在读取图像文件夹...</translation>
    </message>
    <message>
        <source>reading {0} files...</source>
        <translation>正在读取 {0} 个文件...</translation>
    </message>
    <message>
        <source>checking statuses %v / %m</source>
        <translation>正在检查状态 %v / %m</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop reading image statuses (the rest show as unknown)</source>
        <translation>停止读取图像状态（其余显示为未读取）</translation>
    </message>
    <message>
        <source>{0} of {1} done</source>
        <translation>已完成 {0} / {1}</translation>
    </message>
    <message>
        <source>RGB {0}, {1}, {2}</source>
        <translation>RGB {0}, {1}, {2}</translation>
    </message>
    <message>
        <source>RGB …</source>
        <translation>RGB …（读取中）</translation>
    </message>
    <message>
        <source>class: {0}</source>
        <translation>类别：{0}</translation>
    </message>
    <message>
        <source>saved</source>
        <translation>已保存</translation>
    </message>
    <message>
        <source>unsaved</source>
        <translation>未保存</translation>
    </message>
    <message>
        <source>saving...</source>
        <translation>正在保存...</translation>
    </message>
    <message>
        <source>no image pixels to adjust yet</source>
        <translation>还没有可调整的图像像素</translation>
    </message>
    <message>
        <source>all shapes hidden (Ctrl+H shows them)</source>
        <translation>已隐藏所有形状（按 Ctrl+H 重新显示）</translation>
    </message>
    <message>
        <source>shapes shown</source>
        <translation>已显示形状</translation>
    </message>
    <message>
        <source>keep previous annotation: on</source>
        <translation>保留上一张的标注：开</translation>
    </message>
    <message>
        <source>keep previous annotation: off</source>
        <translation>保留上一张的标注：关</translation>
    </message>
    <message>
        <source>previous annotation not kept: all of it lies outside this image</source>
        <translation>未保留上一张的标注：它完全在本图像之外</translation>
    </message>
    <message>
        <source>kept {0} shape(s) from {1}</source>
        <translation>已从 {1} 保留 {0} 个形状</translation>
    </message>
    <message>
        <source>select one or more polygons to simplify</source>
        <translation>请选择一个或多个要简化的多边形</translation>
    </message>
    <message>
        <source>simplified {0} polygon(s): {1} -&gt; {2} vertices</source>
        <translation>已简化 {0} 个多边形：{1} -&gt; {2} 个顶点</translation>
    </message>
</context>
<context>
    <name>recovery</name>
    <message>
        <source>Recover unsaved edits</source>
        <translation>恢复未保存的编辑</translation>
    </message>
    <message>
        <source>Unsaved edits from a session that ended unexpectedly were found for {0} image(s):
{1}

Restore them?</source>
        <translation>发现上次意外结束的会话中有 {0} 张图像的未保存编辑：
{1}

是否恢复？</translation>
    </message>
    <message>
        <source>could not write the recovery file: {0}</source>
        <translation>无法写入恢复文件：{0}</translation>
    </message>
    <message>
        <source>restored unsaved edits for {0} image(s)</source>
        <translation>已恢复 {0} 张图像的未保存编辑</translation>
    </message>
</context>
<context>
    <name>assist</name>
    <message>
        <source>AI Assist</source>
        <translation>AI 辅助</translation>
    </message>
    <message>
        <source>Accept as polygons (holes kept)</source>
        <translation>接受为多边形（保留洞）</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>Failed to load</source>
        <translation>加载失败</translation>
    </message>
    <message>
        <source>Plugins that failed to load:</source>
        <translation>加载失败的插件：</translation>
    </message>
    <message>
        <source>Plugins</source>
        <translation>插件</translation>
    </message>
    <message>
        <source>Proposal engines</source>
        <translation>候选生成引擎</translation>
    </message>
    <message>
        <source>Keep prompts as weak labels</source>
        <translation>将提示保存为弱标注</translation>
    </message>
    <message>
        <source>preparing the zoomed-in view with {0}...</source>
        <translation>正在用 {0} 准备放大后的可见区域...</translation>
    </message>
    <message>
        <source>ready: zoomed-in view at 1/{0} scale</source>
        <translation>就绪：放大后的可见区域，比例 1/{0}</translation>
    </message>
    <message>
        <source>Accepting a proposal also saves its points, box and scribbles as weak labels, linked from the accepted shape</source>
        <translation>接受提议时，同时将其点、框和涂鸦保存为弱标注，并由接受的形状链接</translation>
    </message>
</context>
<context>
    <name>dialogs</name>
    <message>
        <source>Huge images: predict at level</source>
        <translation>超大图像：在此金字塔层级预测</translation>
    </message>
    <message>
        <source>include proposals awaiting review</source>
        <translation>包含待审核的候选标注</translation>
    </message>
    <message>
        <source>Unaccepted pre-labels and autolabel results on images not marked done are predictions, not labels: left out unless this is checked.</source>
        <translation>未标记为完成的图像上未接受的预标注和自动标注结果是预测而非标注：除非勾选此项，否则不导出。</translation>
    </message>
    <message>
        <source>write into a folder of other files (replaces files of the same name)</source>
        <translation>写入包含其他文件的文件夹（替换同名文件）</translation>
    </message>
    <message>
        <source>Needed for a folder that is not empty and holds no earlier export of this format. Nothing is deleted there; re-exporting into a folder of the same format removes only the files the earlier export wrote and this one did not.</source>
        <translation>用于非空且不含此格式早先导出的文件夹。不会删除其中任何文件；重新导出到同一格式的文件夹时，只删除早先导出写入而本次未写入的文件。</translation>
    </message>
    <message>
        <source>(no source given)</source>
        <translation>（未指定来源）</translation>
    </message>
    <message>
        <source>Open a project or image folder</source>
        <translation>打开项目或图像文件夹</translation>
    </message>
    <message>
        <source>{0}: no such file or folder</source>
        <translation>{0}：没有该文件或文件夹</translation>
    </message>
    <message>
        <source>A new language takes effect when the program is started again.</source>
        <translation>新的语言将在程序重新启动后生效。</translation>
    </message>
    <message>
        <source>Autosave every</source>
        <translation>自动保存间隔</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Classes</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Dataset to import</source>
        <translation>要导入的数据集</translation>
    </message>
    <message>
        <source>Default overlay opacity</source>
        <translation>默认叠加层不透明度</translation>
    </message>
    <message>
        <source>Export Dataset</source>
        <translation>导出数据集</translation>
    </message>
    <message>
        <source>Import Dataset</source>
        <translation>导入数据集</translation>
    </message>
    <message>
        <source>File...</source>
        <translation>文件...</translation>
    </message>
    <message>
        <source>Folder...</source>
        <translation>文件夹...</translation>
    </message>
    <message>
        <source>Filter by action, menu or key</source>
        <translation>按操作、菜单或按键筛选</translation>
    </message>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>Keyboard Shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>选项</translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation>输出文件夹</translation>
    </message>
    <message>
        <source>Project folder</source>
        <translation>项目文件夹</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>随机种子</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Menu</source>
        <translation>菜单</translation>
    </message>
    <message>
        <source>Shortcut</source>
        <translation>快捷键</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Split ratios</source>
        <translation>划分比例</translation>
    </message>
    <message>
        <source>Split</source>
        <translation>划分</translation>
    </message>
    <message>
        <source>a preset name, a schema JSON, or a text file of class names</source>
        <translation>预设名称、模式 JSON 文件或类别名称文本文件</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>已取消</translation>
    </message>
    <message>
        <source>cancelling...</source>
        <translation>正在取消...</translation>
    </message>
    <message>
        <source>working...</source>
        <translation>正在处理...</translation>
    </message>
    <message>
        <source>choose the output folder</source>
        <translation>请选择输出文件夹</translation>
    </message>
    <message>
        <source>choose the project folder to import into</source>
        <translation>请选择要导入到的项目文件夹</translation>
    </message>
    <message>
        <source>every image</source>
        <translation>所有图像</translation>
    </message>
    <message>
        <source>open a project first</source>
        <translation>请先打开一个项目</translation>
    </message>
    <message>
        <source>open the project afterwards</source>
        <translation>完成后打开该项目</translation>
    </message>
    <message>
        <source>the current image could not be saved; export it after saving</source>
        <translation>当前图像无法保存；请保存后再导出</translation>
    </message>
    <message>
        <source>the current image could not be saved; nothing imported</source>
        <translation>当前图像无法保存；未导入任何内容</translation>
    </message>
    <message>
        <source>Brightness / Contrast</source>
        <translation>亮度/对比度</translation>
    </message>
    <message>
        <source>Brightness</source>
        <translation>亮度</translation>
    </message>
    <message>
        <source>Contrast</source>
        <translation>对比度</translation>
    </message>
    <message>
        <source>Gamma</source>
        <translation>伽马</translation>
    </message>
    <message>
        <source>Auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>Reset</source>
        <translation>重置</translation>
    </message>
    <message>
        <source>Stretch each channel so that 1% of pixels are black and 1% white</source>
        <translation>拉伸每个通道，使 1% 的像素为黑、1% 为白</translation>
    </message>
    <message>
        <source>Keep for the next image</source>
        <translation>切换到下一张图像时保留</translation>
    </message>
    <message>
        <source>Only the display changes: saved labels, exports and models see the image as it is.</source>
        <translation>只改变显示：保存的标注、导出和模型看到的仍是原始图像。</translation>
    </message>
    <message>
        <source>Keep brightness / contrast for the next image</source>
        <translation>切换到下一张图像时保留亮度/对比度</translation>
    </message>
    <message>
        <source>Simplify polygon tolerance</source>
        <translation>多边形简化容差</translation>
    </message>
</context>
<context>
    <name>train</name>
    <message>
        <source>Accepted {0} proposals.</source>
        <translation>已接受 {0} 个候选标注。</translation>
    </message>
    <message>
        <source>Cancel Training</source>
        <translation>取消训练</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Cancelling after the current step...</source>
        <translation>将在当前步骤后取消...</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Done: {0} (not remembered: {1})</source>
        <translation>完成：{0}（未记录：{1}）</translation>
    </message>
    <message>
        <source>Done: {0} is now the current model.</source>
        <translation>完成：{0} 现在是当前模型。</translation>
    </message>
    <message>
        <source>Encoder</source>
        <translation>编码器</translation>
    </message>
    <message>
        <source>Epoch {0}: loss {1:.3f}, val mIoU {2}</source>
        <translation>第 {0} 轮：损失 {1:.3f}，验证 mIoU {2}</translation>
    </message>
    <message>
        <source>Epochs</source>
        <translation>轮数</translation>
    </message>
    <message>
        <source>Every image is labelled.</source>
        <translation>所有图像都已标注。</translation>
    </message>
    <message>
        <source>Live preview off</source>
        <translation>实时预览已关闭</translation>
    </message>
    <message>
        <source>Live preview on: training the pixel classifier...</source>
        <translation>实时预览已开启：正在训练像素分类器...</translation>
    </message>
    <message>
        <source>Live preview: {0}</source>
        <translation>实时预览：{0}</translation>
    </message>
    <message>
        <source>Looking for the most useful image to label...</source>
        <translation>正在查找最值得标注的图像...</translation>
    </message>
    <message>
        <source>Max minutes</source>
        <translation>最长分钟数</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Most useful to label next: {0}</source>
        <translation>下一张最值得标注：{0}</translation>
    </message>
    <message>
        <source>No current model: train one first (Model &gt; Train Model...).</source>
        <translation>没有当前模型：请先训练一个（模型 &gt; 训练模型...）。</translation>
    </message>
    <message>
        <source>No proposals on this image to accept.</source>
        <translation>此图像没有可接受的候选标注。</translation>
    </message>
    <message>
        <source>Not started: the current image could not be saved.</source>
        <translation>未开始：当前图像无法保存。</translation>
    </message>
    <message>
        <source>Pixel classifier (random forest, seconds)</source>
        <translation>像素分类器（随机森林，数秒）</translation>
    </message>
    <message>
        <source>Predicting proposals...</source>
        <translation>正在预测候选标注...</translation>
    </message>
    <message>
        <source>Prediction cancelled.</source>
        <translation>预测已取消。</translation>
    </message>
    <message>
        <source>Prediction failed: {0}</source>
        <translation>预测失败：{0}</translation>
    </message>
    <message>
        <source>Proposals written for {0} images.</source>
        <translation>已为 {0} 张图像写入候选标注。</translation>
    </message>
    <message>
        <source>Reading {0}: {1} of {2}</source>
        <translation>读取 {0}：{1} / {2}</translation>
    </message>
    <message>
        <source>Resume the last run</source>
        <translation>继续上一次训练</translation>
    </message>
    <message>
        <source>Start</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>Stopped early: {0}.</source>
        <translation>提前停止：{0}。</translation>
    </message>
    <message>
        <source>Train a Model</source>
        <translation>训练模型</translation>
    </message>
    <message>
        <source>Training cancelled.</source>
        <translation>训练已取消。</translation>
    </message>
    <message>
        <source>Training failed: {0}</source>
        <translation>训练失败：{0}</translation>
    </message>
    <message>
        <source>Training...</source>
        <translation>正在训练...</translation>
    </message>
    <message>
        <source>accept pre-labels</source>
        <translation>接受预标注</translation>
    </message>
    <message>
        <source>epoch {0} to {1}</source>
        <translation>第 {0} 至 {1} 轮</translation>
    </message>
    <message>
        <source>loss and val mIoU appear here per epoch</source>
        <translation>每轮的损失和验证 mIoU 显示在这里</translation>
    </message>
    <message>
        <source>loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>no limit</source>
        <translation>无限制</translation>
    </message>
    <message>
        <source>val mIoU</source>
        <translation>验证 mIoU</translation>
    </message>
    <message>
        <source>{0} was edited meanwhile: its proposals are not shown</source>
        <translation>{0} 在此期间已被编辑：不显示其候选标注</translation>
    </message>
</context>
<context>
    <name>shape_list</name>
    <message>
        <source>no instance</source>
        <translation>无实例</translation>
    </message>
    <message>
        <source>instance </source>
        <translation>实例 </translation>
    </message>
    <message>
        <source>Instance id of the selected shapes (shapes sharing one are one object)</source>
        <translation>所选形状的实例编号（编号相同的形状属于同一对象）</translation>
    </message>
    <message>
        <source>Up</source>
        <translation>上移</translation>
    </message>
    <message>
        <source>Bring the selected shapes forward (Ctrl+Shift+Up)</source>
        <translation>将所选形状上移一层 (Ctrl+Shift+Up)</translation>
    </message>
    <message>
        <source>Down</source>
        <translation>下移</translation>
    </message>
    <message>
        <source>Send the selected shapes backward (Ctrl+Shift+Down)</source>
        <translation>将所选形状下移一层 (Ctrl+Shift+Down)</translation>
    </message>
    <message>
        <source>proposal</source>
        <translation>候选</translation>
    </message>
    <message>
        <source>Awaiting review: Ctrl+Return accepts, Delete rejects</source>
        <translation>待审核：Ctrl+Return 接受，Delete 拒绝</translation>
    </message>
</context>
<context>
    <name>view</name>
    <message>
        <source>View</source>
        <translation>视图</translation>
    </message>
    <message>
        <source>Opacity </source>
        <translation>不透明度 </translation>
    </message>
    <message>
        <source>Opacity</source>
        <translation>不透明度</translation>
    </message>
    <message>
        <source>Overlay opacity (Ctrl+[ and Ctrl+])</source>
        <translation>叠加层不透明度 (Ctrl+[ 和 Ctrl+])</translation>
    </message>
</context>
<context>
    <name>schema_edit</name>
    <message>
        <source>Rename class</source>
        <translation>重命名类别</translation>
    </message>
    <message>
        <source>New name for class {0}:</source>
        <translation>类别 {0} 的新名称：</translation>
    </message>
    <message>
        <source>Rename class {0} to {1}?

Shapes in this image change as one undo step; saved annotations of the other images are rewritten too (that part cannot be undone).</source>
        <translation>将类别 {0} 重命名为 {1}？

本图像中的形状作为一个撤销步骤更改；其他图像已保存的标注也会被改写（这部分无法撤销）。</translation>
    </message>
    <message>
        <source>checking whether class {0} is used...</source>
        <translation>正在检查类别 {0} 是否被使用...</translation>
    </message>
    <message>
        <source>classes changed for this session only: {0}</source>
        <translation>类别仅在本次会话中更改：{0}</translation>
    </message>
    <message>
        <source>not changed: {0}</source>
        <translation>未更改：{0}</translation>
    </message>
    <message>
        <source>not removed: class {0} was used meanwhile</source>
        <translation>未删除：类别 {0} 在此期间被使用</translation>
    </message>
    <message>
        <source>not renamed: a class named {0} exists already</source>
        <translation>未重命名：已存在名为 {0} 的类别</translation>
    </message>
    <message>
        <source>removed class {0}</source>
        <translation>已删除类别 {0}</translation>
    </message>
    <message>
        <source>renamed {0} to {1} in {2} saved image(s)</source>
        <translation>已在 {2} 张已保存图像中将 {0} 重命名为 {1}</translation>
    </message>
    <message>
        <source>thing</source>
        <translation>可数</translation>
    </message>
    <message>
        <source>stuff</source>
        <translation>不可数</translation>
    </message>
    <message>
        <source>the project is read-only: classes cannot be changed</source>
        <translation>项目为只读：无法更改类别</translation>
    </message>
    <message>
        <source>{0} is now a {1} class</source>
        <translation>{0} 现在是{1}类别</translation>
    </message>
    <message>
        <source>not removed: {0} shape(s) of class {1} in this image; change their class first</source>
        <translation>未删除：本图像中有 {0} 个类别为 {1} 的形状；请先更改它们的类别</translation>
    </message>
    <message>
        <source>not removed: class {0} is used by {1} shape(s) in {2} image(s), e.g. {3}</source>
        <translation>未删除：类别 {0} 被 {2} 张图像中的 {1} 个形状使用，例如 {3}</translation>
    </message>
</context>
<context>
    <name>autolabel</name>
    <message>
        <source>Autolabel</source>
        <translation>自动标注</translation>
    </message>
    <message>
        <source>boxes</source>
        <translation>框</translation>
    </message>
    <message>
        <source>points</source>
        <translation>点</translation>
    </message>
    <message>
        <source>scribbles</source>
        <translation>涂鸦</translation>
    </message>
    <message>
        <source>All images</source>
        <translation>所有图像</translation>
    </message>
    <message>
        <source>Current image</source>
        <translation>当前图像</translation>
    </message>
    <message>
        <source>Proposals as polygons (holes kept)</source>
        <translation>提议为多边形（保留孔洞）</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>From</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Images</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>No proposal engine can run.</source>
        <translation>没有可运行的提议引擎。</translation>
    </message>
    <message>
        <source>The current image could not be saved; nothing was run.</source>
        <translation>当前图像无法保存；未运行任何内容。</translation>
    </message>
    <message>
        <source>Running {0} from {1}...</source>
        <translation>正在用 {0} 从{1}运行...</translation>
    </message>
    <message>
        <source>Cancelling after the current image...</source>
        <translation>将在当前图像之后取消...</translation>
    </message>
    <message>
        <source>{0} proposals on {1} images ({2}).</source>
        <translation>{1} 张图像上的 {0} 个提议（{2}）。</translation>
    </message>
    <message>
        <source>Autolabel failed: {0}</source>
        <translation>自动标注失败：{0}</translation>
    </message>
    <message>
        <source>Cancelled; the images already done keep their proposals.</source>
        <translation>已取消；已完成的图像保留其提议。</translation>
    </message>
    <message>
        <source>Select one proposal or mask made from weak labels to regenerate it</source>
        <translation>请选择一个由弱标注生成的提议或掩码以重新生成</translation>
    </message>
    <message>
        <source>The selected shape was not made from weak labels (it has no links)</source>
        <translation>所选形状不是由弱标注生成的（没有链接）</translation>
    </message>
    <message>
        <source>A regeneration is already running</source>
        <translation>已有重新生成在运行</translation>
    </message>
    <message>
        <source>Regenerate</source>
        <translation>重新生成</translation>
    </message>
    <message>
        <source>{0} cannot run</source>
        <translation>{0} 无法运行</translation>
    </message>
    <message>
        <source>Regenerating with {0}...</source>
        <translation>正在用 {0} 重新生成...</translation>
    </message>
    <message>
        <source>{0} made {1} new proposal(s)</source>
        <translation>{0} 生成了 {1} 个新提议</translation>
    </message>
    <message>
        <source>Regenerate failed: {0}</source>
        <translation>重新生成失败：{0}</translation>
    </message>
</context>
<context>
    <name>sam</name>
    <message>
        <source>SAM Model</source>
        <translation>SAM 模型</translation>
    </message>
    <message>
        <source>Local checkpoint file</source>
        <translation>本地检查点文件</translation>
    </message>
    <message>
        <source>a segment-anything .pth file</source>
        <translation>segment-anything .pth 文件</translation>
    </message>
    <message>
        <source>Browse...</source>
        <translation>浏览...</translation>
    </message>
    <message>
        <source>Download SAM model</source>
        <translation>下载 SAM 模型</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Checkpoint file</source>
        <translation>检查点文件</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>{0}: file not found</source>
        <translation>{0}：文件未找到</translation>
    </message>
    <message>
        <source>{0} is downloaded ({1})</source>
        <translation>{0} 已下载（{1}）</translation>
    </message>
    <message>
        <source>{0} is not downloaded yet ({1:.0f} MB)</source>
        <translation>{0} 尚未下载（{1:.0f} MB）</translation>
    </message>
    <message>
        <source>SAM checkpoint</source>
        <translation>SAM 检查点</translation>
    </message>
    <message>
        <source>Downloading {0}...</source>
        <translation>正在下载 {0}...</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Downloading {0}: {1:.1f} of {2:.1f} MB</source>
        <translation>正在下载 {0}：{1:.1f} / {2:.1f} MB</translation>
    </message>
    <message>
        <source>download cancelled; the next download resumes it</source>
        <translation>下载已取消；下次下载将继续</translation>
    </message>
</context>
<context>
    <name>edit_ops</name>
    <message>
        <source>merge</source>
        <translation>合并</translation>
    </message>
    <message>
        <source>subtract</source>
        <translation>相减</translation>
    </message>
    <message>
        <source>mask to polygons</source>
        <translation>掩码转多边形</translation>
    </message>
    <message>
        <source>polygon to mask</source>
        <translation>多边形转掩码</translation>
    </message>
    <message>
        <source>{0} failed: {1}</source>
        <translation>{0}失败：{1}</translation>
    </message>
    <message>
        <source>{0}: wait, {1} is still being computed</source>
        <translation>{0}：请稍候，{1}仍在计算</translation>
    </message>
    <message>
        <source>{0}: computing in the background...</source>
        <translation>{0}：正在后台计算...</translation>
    </message>
    <message>
        <source>{0} discarded: the image changed while it was being computed</source>
        <translation>{0}已丢弃：计算期间图像已更改</translation>
    </message>
    <message>
        <source>{0} done</source>
        <translation>{0}完成</translation>
    </message>
</context>
<context>
    <name>saving</name>
    <message>
        <source>not closed: {0} could not be saved</source>
        <translation>未关闭：{0} 无法保存</translation>
    </message>
    <message>
        <source>still writing {0}; try again in a moment</source>
        <translation>仍在写入 {0}，请稍后再试</translation>
    </message>
    <message>
        <source>{0} was changed on disk since it was opened here; that version is kept in {1}</source>
        <translation>{0} 在此打开后已被其他程序修改；该版本已保存在 {1}</translation>
    </message>
    <message>
        <source>not saved: {0}: {1}</source>
        <translation>未保存：{0}：{1}</translation>
    </message>
    <message>
        <source>{0}: the edits that could not be saved are back (unsaved)</source>
        <translation>{0}：未能保存的编辑已恢复（未保存）</translation>
    </message>
    <message>
        <source>not saved: {0}</source>
        <translation>未保存：{0}</translation>
    </message>
</context>
<context>
    <name>pyramid</name>
    <message>
        <source>{0}: building its pyramid (once), the image appears when it is ready</source>
        <translation>{0}：正在构建图像金字塔（仅一次），完成后显示图像</translation>
    </message>
    <message>
        <source>{0}: building its pyramid, {1}%</source>
        <translation>{0}：正在构建图像金字塔，{1}%</translation>
    </message>
    <message>
        <source>{0}: pyramid ready</source>
        <translation>{0}：图像金字塔已就绪</translation>
    </message>
    <message>
        <source>cannot show the image: {0}</source>
        <translation>无法显示图像：{0}</translation>
    </message>
</context>
<context>
    <name>review</name>
    <message>
        <source>No more images with proposals after this one.</source>
        <translation>此图像之后没有更多有候选标注的图像。</translation>
    </message>
    <message>
        <source>No images with proposals before this one.</source>
        <translation>此图像之前没有有候选标注的图像。</translation>
    </message>
    <message>
        <source>Accepted {0} proposals; marked done.</source>
        <translation>已接受 {0} 个候选标注；已标记为完成。</translation>
    </message>
    <message>
        <source>No proposals on this image.</source>
        <translation>此图像上没有候选标注。</translation>
    </message>
    <message>
        <source>Rejected {0} proposals.</source>
        <translation>已拒绝 {0} 个候选标注。</translation>
    </message>
</context>
</TS>
